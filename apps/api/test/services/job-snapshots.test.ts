import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { toJson } from '@omni/db';
import type { SyncEvent } from '@omni/runtime';
import { emptyProgress } from '@omni/sync-core';
import { JobSnapshots } from '../../src/services/job-snapshots.ts';
import { auth, createInstance, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
let instanceId: string;
let reads = 0;

beforeAll(async () => {
  t = await createTestApp();
  const original = t.deps.jobs.findInstanceJob.bind(t.deps.jobs);
  t.deps.jobs.findInstanceJob = async (i, j) => {
    reads++;
    return original(i, j);
  };
  instanceId = await createInstance(t, 'snap');
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

let instances = 0;

/** A job on an instance of its own (one running job per instance is a database rule). */
async function insertJob(status: 'running' | 'completed' | 'failed', fetched = 0) {
  const inst = await t.db.db
    .insertInto('instances')
    .values({ name: `snap-job-${++instances}`, channel: 'discord' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const row = await t.db.db
    .insertInto('sync_jobs')
    .values({
      instance_id: inst.id,
      type: 'messages',
      status,
      config: toJson({ depth: '7d' }),
      progress: toJson({ ...emptyProgress(), fetched }),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return row;
}

const setFetched = (jobId: string, fetched: number) =>
  t.db.db
    .updateTable('sync_jobs')
    .set({ progress: toJson({ ...emptyProgress(), fetched }) })
    .where('id', '=', jobId)
    .execute();

const getJob = (job: { id: string; instance_id: string } | string, inst?: string) => {
  const [jobId, owner] = typeof job === 'string' ? [job, instanceId] : [job.id, job.instance_id];
  return t.app.inject({ url: `/api/v2/instances/${inst ?? owner}/sync/${jobId}`, headers: auth });
};

describe('job snapshots (GET /instances/:id/sync/:jobId)', () => {
  test('a repeated read is served from the snapshot; an event of the job drops it at once', async () => {
    const job = await insertJob('running', 1);
    const before = reads;
    expect((await getJob(job)).json().data.progress.fetched).toBe(1);
    expect((await getJob(job)).json().data.progress.fetched).toBe(1);
    expect(reads - before).toBe(1);

    await setFetched(job.id, 2);
    await t.events.publish({
      type: 'sync.progress',
      instanceId: job.instance_id,
      jobId: job.id,
      jobType: 'messages',
      at: new Date().toISOString(),
      status: 'running',
      progress: emptyProgress(),
    });
    expect((await getJob(job)).json().data.progress.fetched).toBe(2);
    expect(reads - before).toBe(2);
  });

  test('concurrent reads of one job share one query', async () => {
    const job = await insertJob('running');
    const before = reads;
    const answers = await Promise.all(Array.from({ length: 20 }, () => getJob(job)));
    expect(answers.every((r) => r.statusCode === 200)).toBe(true);
    expect(reads - before).toBe(1);
  });

  test('a cancel through the API is visible on the next read', async () => {
    const job = await insertJob('running');
    expect((await getJob(job)).json().data.cancelRequested).toBe(false);
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${job.instance_id}/sync/${job.id}/cancel`,
      headers: auth,
    });
    expect(cancel.statusCode).toBe(200);
    // The runner acknowledges a running job's cancel between batches; the request is on the row.
    expect((await getJob(job)).json().data.cancelRequested).toBe(true);
  });

  test('a resumed job reads as pending at once, not as the cached failure', async () => {
    const job = await insertJob('failed');
    expect((await getJob(job)).json().data.status).toBe('failed');
    const resume = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${job.instance_id}/sync/${job.id}/resume`,
      headers: auth,
    });
    expect(resume.statusCode).toBe(202);
    expect((await getJob(job)).json().data.status).toBe('pending');
  });

  test('404s still tell a missing instance from a missing job, and a job of another instance is not found', async () => {
    const job = await insertJob('completed');
    expect((await getJob(job)).statusCode).toBe(200);
    const missingJob = await getJob('00000000-0000-4000-8000-000000000000');
    expect(missingJob.statusCode).toBe(404);
    expect(missingJob.json().error.message).toContain('sync job');
    const missingInstance = await getJob(job, '00000000-0000-4000-8000-000000000001');
    expect(missingInstance.statusCode).toBe(404);
    expect(missingInstance.json().error.message).toContain('instance');

    const other = await createInstance(t, 'snap-other');
    expect((await getJob(job, other)).statusCode).toBe(404);
  });

  test('deleting the instance drops its snapshots', async () => {
    const inst = await createInstance(t, 'snap-deleted');
    const job = await t.db.db
      .insertInto('sync_jobs')
      .values({
        instance_id: inst,
        type: 'messages',
        status: 'completed',
        config: toJson({}),
        progress: toJson(emptyProgress()),
      })
      .returning(['id', 'instance_id'])
      .executeTakeFirstOrThrow();
    expect((await getJob(job, inst)).statusCode).toBe(200);
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v2/instances/${inst}`, headers: auth });
    expect(del.statusCode).toBe(200);
    expect((await getJob(job, inst)).statusCode).toBe(404);
  });

  test('a running job is re-read after its time to live, a finished one later', async () => {
    let now = 0;
    const snapshots = new JobSnapshots(t.deps, { activeTtlMs: 250, finishedTtlMs: 5_000, now: () => now });
    const running = await insertJob('running', 1);
    const done = await insertJob('completed', 1);
    await snapshots.get(running.instance_id, running.id);
    await snapshots.get(done.instance_id, done.id);
    await setFetched(running.id, 7);
    await setFetched(done.id, 7);
    now = 200;
    expect((await snapshots.get(running.instance_id, running.id)).progress.fetched).toBe(1);
    now = 300;
    expect((await snapshots.get(running.instance_id, running.id)).progress.fetched).toBe(7);
    expect((await snapshots.get(done.instance_id, done.id)).progress.fetched).toBe(1);
    now = 5_100;
    expect((await snapshots.get(done.instance_id, done.id)).progress.fetched).toBe(7);
    expect((await snapshots.get(done.instance_id, done.id, { fresh: true })).progress.fetched).toBe(7);
    await snapshots.close();
  });

  test('a read that started before an invalidation is not kept', async () => {
    const snapshots = new JobSnapshots(t.deps);
    const job = await insertJob('running', 1);
    const reading = snapshots.get(job.instance_id, job.id);
    snapshots.invalidate(job.id);
    await reading;
    await setFetched(job.id, 3);
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(3);
    await snapshots.close();
  });

  /** A `sync.progress` event of the job with these counters. */
  const progressEvent = (
    job: { id: string; instance_id: string },
    fetched: number,
    at: string,
    type: SyncEvent['type'] = 'sync.progress',
  ): SyncEvent => ({
    type,
    instanceId: job.instance_id,
    jobId: job.id,
    jobType: 'messages',
    at,
    progress: { ...emptyProgress(), fetched, stored: fetched },
  });

  test("a running job's progress events update its snapshot: polls answer them without reading the row", async () => {
    const job = await insertJob('running', 1);
    const before = reads;
    expect((await getJob(job)).json().data.progress.fetched).toBe(1);
    await t.events.publish({ ...progressEvent(job, 5, new Date().toISOString()), status: 'running' });
    const answer = (await getJob(job)).json().data;
    expect(answer.progress.fetched).toBe(5);
    expect(answer.progress.stored).toBe(5);
    expect(answer.status).toBe('running');
    expect(reads - before).toBe(1);
    // The rest of the row is as it was read.
    expect(answer.config).toEqual({ depth: '7d' });
    expect(answer.jobId).toBe(job.id);
  });

  test('an event older than what the snapshot holds never shows: the row is read instead', async () => {
    const snapshots = new JobSnapshots(t.deps);
    const job = await insertJob('running', 4);
    await snapshots.get(job.instance_id, job.id);
    // Fewer counted messages than the row already had: an event from before the read.
    snapshots.onEvent(progressEvent(job, 3, '2026-12-06T10:00:02.000Z'));
    await setFetched(job.id, 6);
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(6);

    snapshots.onEvent(progressEvent(job, 8, '2026-12-06T10:00:05.000Z'));
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(8);
    // Emitted before the one applied (delivered out of order): not applied, the row is read.
    snapshots.onEvent(progressEvent(job, 9, '2026-12-06T10:00:04.000Z'));
    await setFetched(job.id, 10);
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(10);
    expect(snapshots.stats()).toMatchObject({ reads: 3, applied: 1, dropped: 2 });
    await snapshots.close();
  });

  test('any other event of the job drops its snapshot, and a late progress event cannot make a finished job run', async () => {
    const snapshots = new JobSnapshots(t.deps);
    const job = await insertJob('running', 1);
    await snapshots.get(job.instance_id, job.id);
    await t.db.db
      .updateTable('sync_jobs')
      .set({ status: 'completed', completed_at: new Date() })
      .where('id', '=', job.id)
      .execute();
    snapshots.onEvent(progressEvent(job, 2, '2026-12-06T10:00:01.000Z', 'sync.completed'));
    const done = await snapshots.get(job.instance_id, job.id);
    expect(done.status).toBe('completed');
    expect(done.completed_at).not.toBeNull();
    snapshots.onEvent({ ...progressEvent(job, 3, '2026-12-06T10:00:02.000Z'), status: 'running' });
    expect((await snapshots.get(job.instance_id, job.id)).status).toBe('completed');
    expect(snapshots.stats().applied).toBe(0);
    await snapshots.close();
  });

  test('a pending job is not made running by a progress event: its row is read', async () => {
    const snapshots = new JobSnapshots(t.deps);
    const job = await insertJob('running', 0);
    await t.db.db.updateTable('sync_jobs').set({ status: 'pending' }).where('id', '=', job.id).execute();
    expect((await snapshots.get(job.instance_id, job.id)).status).toBe('pending');
    await t.db.db.updateTable('sync_jobs').set({ status: 'running' }).where('id', '=', job.id).execute();
    snapshots.onEvent(progressEvent(job, 1, '2026-12-06T10:00:01.000Z'));
    const read = await snapshots.get(job.instance_id, job.id);
    expect(read.status).toBe('running');
    expect(read.progress.fetched).toBe(0);
    await snapshots.close();
  });

  test('a snapshot polled late in its time to live is read again in the background, never served past it', async () => {
    let now = 0;
    const snapshots = new JobSnapshots(t.deps, { activeTtlMs: 1_000, now: () => now });
    const job = await insertJob('running', 1);
    await snapshots.get(job.instance_id, job.id);
    await setFetched(job.id, 2);
    now = 500;
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(1);
    expect(snapshots.stats().reads).toBe(1);
    now = 800;
    // Answered from the snapshot at once, while the row is read again.
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(1);
    expect(snapshots.stats()).toMatchObject({ reads: 2, misses: 1, hits: 2 });
    await snapshots.settled();
    await setFetched(job.id, 3);
    now = 1_500;
    // The background read (at 800) holds until 1,800: fetched 2, with no further read.
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(2);
    expect(snapshots.stats().reads).toBe(2);
    now = 1_850;
    expect(snapshots.stats().reads).toBe(2);
    // Past its time to live (1,800): the poll waits for the row.
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(3);
    expect(snapshots.stats()).toMatchObject({ reads: 3, misses: 2 });
    await snapshots.close();
  });

  test("an event of one job does not keep another job's read from being kept", async () => {
    const snapshots = new JobSnapshots(t.deps);
    const job = await insertJob('running', 1);
    const other = await insertJob('running', 1);
    const reading = snapshots.get(job.instance_id, job.id);
    snapshots.onEvent(progressEvent(other, 2, '2026-12-06T10:00:01.000Z'));
    await reading;
    await snapshots.get(job.instance_id, job.id);
    expect(snapshots.stats()).toMatchObject({ reads: 1, hits: 1 });
    // An event of the job itself while it is read: that read is not kept.
    snapshots.invalidate(job.id);
    const again = snapshots.get(job.instance_id, job.id);
    snapshots.onEvent(progressEvent(job, 2, '2026-12-06T10:00:01.000Z'));
    await again;
    await snapshots.get(job.instance_id, job.id);
    expect(snapshots.stats().reads).toBe(3);
    await snapshots.close();
  });

  test('a read racing an applied event is kept with the more advanced progress of the two', async () => {
    let now = 0;
    const snapshots = new JobSnapshots(t.deps, { activeTtlMs: 1_000, now: () => now });
    const job = await insertJob('running', 1);
    await snapshots.get(job.instance_id, job.id);
    now = 800;
    await snapshots.get(job.instance_id, job.id); // starts a read-ahead of the row (fetched 1)
    snapshots.onEvent(progressEvent(job, 5, '2026-12-06T10:00:01.000Z'));
    await snapshots.settled();
    now = 900;
    // The event's 5, not the row's 1 read meanwhile; the read was kept (no read now).
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(5);
    expect(snapshots.stats()).toMatchObject({ reads: 2, misses: 1, applied: 1 });

    await setFetched(job.id, 9);
    now = 1_600;
    await snapshots.get(job.instance_id, job.id); // read-ahead again: the row has 9
    snapshots.onEvent(progressEvent(job, 6, '2026-12-06T10:00:02.000Z'));
    await snapshots.settled();
    now = 1_700;
    expect((await snapshots.get(job.instance_id, job.id)).progress.fetched).toBe(9);
    expect(snapshots.stats()).toMatchObject({ reads: 3, misses: 1, applied: 2 });
    await snapshots.close();
  });

  test('read-aheads of many jobs share one query, and so do the reads polls wait for in one turn', async () => {
    let now = 0;
    const snapshots = new JobSnapshots(t.deps, { activeTtlMs: 1_000, readAheadBatchMs: 20, now: () => now });
    const jobs = await Promise.all(Array.from({ length: 5 }, (_, i) => insertJob('running', i)));
    const first = await Promise.all(jobs.map((job) => snapshots.get(job.instance_id, job.id)));
    expect(first.map((job) => job.progress.fetched)).toEqual([0, 1, 2, 3, 4]);
    expect(snapshots.stats()).toMatchObject({ reads: 5, queries: 1, misses: 5 });

    await Promise.all(jobs.map((job) => setFetched(job.id, 10)));
    now = 800;
    // Each answered from its snapshot at once; the five rows are read again by one query.
    for (const job of jobs) await snapshots.get(job.instance_id, job.id);
    await snapshots.settled();
    expect(snapshots.stats()).toMatchObject({ reads: 10, queries: 2, hits: 5 });
    now = 900;
    const again = await Promise.all(jobs.map((job) => snapshots.get(job.instance_id, job.id)));
    expect(again.map((job) => job.progress.fetched)).toEqual([10, 10, 10, 10, 10]);
    expect(snapshots.stats()).toMatchObject({ reads: 10, queries: 2, hits: 10 });
    await snapshots.close();
  });

  test('in a shared query, a missing job and a job of another instance are still 404s', async () => {
    const snapshots = new JobSnapshots(t.deps);
    const job = await insertJob('running', 1);
    const other = await insertJob('running', 2);
    const missing = '00000000-0000-4000-8000-000000000000';
    const answers = await Promise.allSettled([
      snapshots.get(job.instance_id, job.id),
      snapshots.get(job.instance_id, other.id),
      snapshots.get(job.instance_id, missing),
      snapshots.get(missing, job.id),
    ]);
    expect(snapshots.stats().queries).toBe(1);
    expect(answers[0].status === 'fulfilled' && answers[0].value.progress.fetched).toBe(1);
    const reasons = answers.slice(1).map((a) => (a.status === 'rejected' ? String(a.reason) : 'fulfilled'));
    expect(reasons[0]).toContain('sync job');
    expect(reasons[1]).toContain('sync job');
    expect(reasons[2]).toContain('instance');
    // The job of the other instance was not kept under this instance: its own instance still reads it.
    expect((await snapshots.get(other.instance_id, other.id)).progress.fetched).toBe(2);
    await snapshots.close();
  });
});
