import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { toJson } from '@omni/db';
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
});
