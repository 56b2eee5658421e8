import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import {
  InstanceNotFoundError,
  JobNotFoundError,
  JobRepository,
  JobStateError,
  LeaseLostError,
  leaseOf,
} from '../src/index.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`JobRepository on ${engine}`, () => {
    let t: TestDb;
    let jobs: JobRepository;
    const newInstance = () => createInstance(t, 'discord');
    /** The job's current lease (as its holder got it from the claim). */
    const held = async (jobId: string) => leaseOf(await jobs.getJob(jobId));
    const expire = async (jobId: string) => {
      await t.db
        .updateTable('sync_jobs')
        .set({ lease_expires_at: sql`now() - interval '1 minute'` })
        .where('id', '=', jobId)
        .execute();
    };

    beforeAll(async () => {
      t = await testDb(engine);
      jobs = new JobRepository(t.db);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('an identical request returns the pending job; a different one is queued', async () => {
      const inst = await newInstance();
      const a = await jobs.createJob(inst, 'messages', { depth: '30d', channelId: 'c1' });
      expect(a.created).toBe(true);
      expect(a.job.status).toBe('pending');
      expect(a.job.progress).toMatchObject({ fetched: 0, stored: 0, chatsTotal: 0 });
      const same = await jobs.createJob(inst, 'messages', { channelId: 'c1', depth: '30d' });
      expect(same.created).toBe(false);
      expect(same.job.id).toBe(a.job.id);
      const other = await jobs.createJob(inst, 'messages', { depth: '7d' });
      expect(other.created).toBe(true);
      expect(other.job.id).not.toBe(a.job.id);
      const profile = await jobs.createJob(inst, 'profile', { depth: '30d', channelId: 'c1' });
      expect(profile.created).toBe(true);
    });

    test('identical request while running returns the running job; after it ends a new one is made', async () => {
      const inst = await newInstance();
      const { job } = await jobs.createJob(inst, 'profile');
      const claimed = await jobs.claimJob(job.id, 'w1', 60_000);
      expect(claimed?.status).toBe('running');
      expect((await jobs.createJob(inst, 'profile')).job.id).toBe(job.id);
      await jobs.completeJob(job.id, { lease: await held(job.id) });
      const again = await jobs.createJob(inst, 'profile');
      expect(again.created).toBe(true);
      expect(again.job.id).not.toBe(job.id);
    });

    test('concurrent identical requests create one job', async () => {
      const inst = await newInstance();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => jobs.createJob(inst, 'contacts', { x: 1 })),
      );
      expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
    });

    test('unknown instance and unknown job are typed errors', async () => {
      await expect(jobs.createJob('00000000-0000-4000-8000-000000000000', 'profile')).rejects.toBeInstanceOf(
        InstanceNotFoundError,
      );
      await expect(jobs.createJob('nope', 'profile')).rejects.toBeInstanceOf(InstanceNotFoundError);
      const err = await jobs.getJob('00000000-0000-4000-8000-000000000000').catch((e) => e);
      expect(err).toBeInstanceOf(JobNotFoundError);
      expect(err.code).toBe('JOB_NOT_FOUND');
      expect(await jobs.findJob('not-a-uuid')).toBeNull();
    });

    test('findJobs reads the existing jobs of many ids with one query', async () => {
      const inst = await newInstance();
      const a = (await jobs.createJob(inst, 'profile')).job;
      const b = (await jobs.createJob(inst, 'contacts')).job;
      const found = await jobs.findJobs([
        a.id,
        'not-a-uuid',
        b.id,
        a.id,
        '00000000-0000-4000-8000-000000000000',
      ]);
      expect(found.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
      expect(found.find((j) => j.id === b.id)).toEqual(await jobs.getJob(b.id));
      expect(await jobs.findJobs([])).toEqual([]);
      expect(await jobs.findJobs(['nope'])).toEqual([]);
    });

    test('claim sets lease, attempts, started_at; one running job per instance', async () => {
      const inst = await newInstance();
      const first = (await jobs.createJob(inst, 'messages', { depth: '7d' })).job;
      const second = (await jobs.createJob(inst, 'messages', { depth: '30d' })).job;
      const c = await jobs.claimJob(first.id, 'w1', 60_000);
      expect(c).not.toBeNull();
      expect(c?.lease_owner).toBe('w1');
      expect(c?.attempts).toBe(1);
      expect(c?.started_at).toBeInstanceOf(Date);
      expect(c?.lease_expires_at?.getTime()).toBeGreaterThan(Date.now() + 30_000);
      // The second job of the instance must wait.
      expect(await jobs.claimJob(second.id, 'w2', 60_000)).toBeNull();
      // Claiming a running job with a live lease fails.
      expect(await jobs.claimJob(first.id, 'w2', 60_000)).toBeNull();
      await jobs.completeJob(first.id, { lease: await held(first.id) });
      const c2 = await jobs.claimJob(second.id, 'w2', 60_000);
      expect(c2?.status).toBe('running');
      await jobs.completeJob(second.id);
    });

    test('claimNext is fair across instances and never runs two jobs of one instance', async () => {
      await t.db
        .updateTable('sync_jobs')
        .set({ status: 'completed' })
        .where('status', 'in', ['pending', 'running'])
        .execute();
      const a = await newInstance();
      const b = await newInstance();
      const a1 = (await jobs.createJob(a, 'messages', { k: 1 })).job;
      const a2 = (await jobs.createJob(a, 'messages', { k: 2 })).job;
      const b1 = (await jobs.createJob(b, 'messages', { k: 1 })).job;
      const got1 = await jobs.claimNext('w1', 60_000);
      const got2 = await jobs.claimNext('w2', 60_000);
      expect(got1?.id).toBe(a1.id);
      expect(got2?.id).toBe(b1.id);
      expect(await jobs.claimNext('w3', 60_000)).toBeNull();
      await jobs.completeJob(a1.id, { lease: await held(a1.id) });
      expect((await jobs.claimNext('w3', 60_000))?.id).toBe(a2.id);
      await jobs.completeJob(a2.id);
      await jobs.completeJob(b1.id);
    });

    test('concurrent claimNext calls claim each job once and one per instance', async () => {
      await t.db
        .updateTable('sync_jobs')
        .set({ status: 'completed' })
        .where('status', 'in', ['pending', 'running'])
        .execute();
      const instances = [await newInstance(), await newInstance(), await newInstance()];
      for (const inst of instances) {
        for (let k = 0; k < 3; k += 1) await jobs.createJob(inst, 'messages', { k });
      }
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => jobs.claimNext(`w${i}`, 60_000)));
      const claimed = claims.filter((c) => c !== null);
      expect(claimed).toHaveLength(3);
      expect(new Set(claimed.map((c) => c?.instance_id)).size).toBe(3);
    });

    test('an expired lease is found by the reaper and claimed again with attempts + 1', async () => {
      const inst = await newInstance();
      const { job } = await jobs.createJob(inst, 'messages', { depth: 'all' });
      const c = await jobs.claimJob(job.id, 'dead-worker', 60_000);
      const startedAt = c?.started_at;
      const dead = leaseOf(c ?? job);
      await expire(job.id);
      expect((await jobs.findExpiredLeases()).map((j) => j.id)).toContain(job.id);
      await expect(jobs.renewLease(dead, 1000)).resolves.toBeDefined();
      await expire(job.id);
      const again = await jobs.claimNext('w2', 60_000);
      expect(again?.id).toBe(job.id);
      expect(again?.attempts).toBe(2);
      expect(again?.lease_owner).toBe('w2');
      expect(again?.started_at?.getTime()).toBe(startedAt?.getTime() ?? -1);
      expect(again?.lease_epoch).toBe(dead.epoch + 1);
      const err = await jobs.renewLease(dead, 1000).catch((e) => e);
      expect(err).toBeInstanceOf(LeaseLostError);
      expect(err.code).toBe('LEASE_LOST');
      await expect(jobs.completeJob(job.id, { lease: dead })).rejects.toBeInstanceOf(LeaseLostError);
      const renewed = await jobs.renewLease(leaseOf(again ?? job), 60_000);
      expect(renewed.cancelRequested).toBe(false);
      await jobs.completeJob(job.id, { lease: leaseOf(again ?? job) });
    });

    test('releaseLease puts a job back to pending with its checkpoints', async () => {
      const inst = await newInstance();
      const { job } = await jobs.createJob(inst, 'messages');
      await jobs.claimJob(job.id, 'w1', 60_000);
      await t.db
        .insertInto('sync_job_chats')
        .values({ job_id: job.id, chat_id: 'c1', cursor: JSON.stringify({ before: '42' }) })
        .execute();
      const lease = await held(job.id);
      expect(await jobs.releaseLease({ ...lease, owner: 'other' })).toBe(false);
      expect(await jobs.releaseLease({ ...lease, epoch: lease.epoch - 1 })).toBe(false);
      expect(await jobs.releaseLease(lease)).toBe(true);
      const after = await jobs.getJob(job.id);
      expect(after.status).toBe('pending');
      expect(after.lease_owner).toBeNull();
      const chat = await t.db
        .selectFrom('sync_job_chats')
        .selectAll()
        .where('job_id', '=', job.id)
        .executeTakeFirstOrThrow();
      expect(chat.cursor).toEqual({ before: '42' });
    });

    test('cancel: pending at once, running via flag, terminal states refused', async () => {
      const inst = await newInstance();
      const running = (await jobs.createJob(inst, 'messages', { a: 1 })).job;
      const pending = (await jobs.createJob(inst, 'messages', { a: 2 })).job;
      await jobs.claimJob(running.id, 'w1', 60_000);
      expect((await jobs.requestCancel(pending.id)).status).toBe('cancelled');
      const flagged = await jobs.requestCancel(running.id);
      expect(flagged.status).toBe('running');
      expect(flagged.cancel_requested).toBe(true);
      expect((await jobs.renewLease(await held(running.id), 60_000)).cancelRequested).toBe(true);
      expect(await jobs.isCancelRequested(running.id)).toBe(true);
      const cancelled = await jobs.markCancelled(running.id, { lease: await held(running.id) });
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.completed_at).toBeInstanceOf(Date);
      expect((await jobs.requestCancel(running.id)).status).toBe('cancelled');
      const done = (await jobs.createJob(inst, 'profile')).job;
      await jobs.claimJob(done.id, 'w1', 60_000);
      await jobs.completeJob(done.id);
      const err = await jobs.requestCancel(done.id).catch((e) => e);
      expect(err).toBeInstanceOf(JobStateError);
      expect(err.code).toBe('JOB_STATE_CONFLICT');
    });

    test('resume: failed and cancelled go back to pending; completed is refused', async () => {
      const inst = await newInstance();
      const { job } = await jobs.createJob(inst, 'messages');
      await jobs.claimJob(job.id, 'w1', 60_000);
      const failed = await jobs.failJob(job.id, 'boom', { lease: await held(job.id) });
      expect(failed.status).toBe('failed');
      expect(failed.error_message).toBe('boom');
      const resumed = await jobs.resumeJob(job.id);
      expect(resumed.status).toBe('pending');
      expect(resumed.error_message).toBeNull();
      const c = await jobs.claimJob(job.id, 'w1', 60_000);
      expect(c?.attempts).toBe(2);
      await jobs.completeJob(job.id);
      const err = await jobs.resumeJob(job.id).catch((e) => e);
      expect(err).toBeInstanceOf(JobStateError);
      expect(err.status).toBe('completed');
      await expect(jobs.completeJob(job.id)).rejects.toBeInstanceOf(JobStateError);
      const cancelled = (await jobs.createJob(inst, 'messages', { z: 1 })).job;
      await jobs.requestCancel(cancelled.id);
      const r2 = await jobs.resumeJob(cancelled.id);
      expect(r2.status).toBe('pending');
      expect(r2.cancel_requested).toBe(false);
    });

    test('fencing: every claim grows the epoch; a lease taken over (even by the same owner) writes nothing', async () => {
      const inst = await newInstance();
      const { job } = await jobs.createJob(inst, 'messages', { fence: 1 });
      const first = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      expect(first.epoch).toBe(1);
      await jobs.updateProgress(first, {}, { counters: { fetched: 1 } });
      await expire(job.id);
      // The same worker claims it again (e.g. after a pause): its earlier run is fenced out too.
      const second = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      expect(second.epoch).toBe(2);
      await expect(jobs.updateProgress(first, {}, { counters: { fetched: 100 } })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      await expect(jobs.renewLease(first, 60_000)).rejects.toBeInstanceOf(LeaseLostError);
      expect(await jobs.releaseLease(first)).toBe(false);
      await expect(jobs.failJob(job.id, 'stale', { lease: first })).rejects.toBeInstanceOf(LeaseLostError);
      await jobs.updateProgress(second, {}, { counters: { fetched: 2 } });
      const done = await jobs.completeJob(job.id, { lease: second });
      expect(done.progress).toMatchObject({ fetched: 3 });
      await expect(jobs.updateProgress(second, {}, { counters: { fetched: 1 } })).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      expect((await jobs.getJob(job.id)).progress).toMatchObject({ fetched: 3 });
    });

    test('listJobs pages newest first on (created_at, id) and filters by status', async () => {
      const inst = await newInstance();
      const ids: string[] = [];
      for (let k = 0; k < 7; k += 1) ids.push((await jobs.createJob(inst, 'messages', { k })).job.id);
      await jobs.requestCancel(ids[0] ?? '');
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await jobs.listJobs(inst, { limit: 3, cursor });
        seen.push(...page.items.map((j) => j.id));
        cursor = page.cursor;
        pages += 1;
        expect(page.hasMore).toBe(cursor !== null);
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
      const cancelled = await jobs.listJobs(inst, { status: 'cancelled' });
      expect(cancelled.items.map((j) => j.id)).toEqual([ids[0] ?? '']);
      expect((await jobs.listJobs(inst, { status: ['pending'] })).items).toHaveLength(6);
    });

    test('updateProgress increments counters atomically in SQL', async () => {
      const inst = await newInstance();
      const { job } = await jobs.createJob(inst, 'messages');
      await jobs.claimJob(job.id, 'w1', 60_000);
      const lease = await held(job.id);
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          jobs.updateProgress(
            lease,
            {},
            {
              counters: { stored: 2, fetched: 3 },
              oldestTimestamp: new Date(Date.UTC(2026, 0, 10 - i)).toISOString(),
            },
          ),
        ),
      );
      await jobs.updateProgress(lease, { etaSeconds: 5 }, { mediaSkipReason: 'too-large' });
      const p = (await jobs.getJob(job.id)).progress;
      expect(p).toMatchObject({
        stored: 20,
        fetched: 30,
        etaSeconds: 5,
        oldestTimestamp: '2026-01-01T00:00:00.000Z',
        mediaSkipReasons: { 'too-large': 1 },
      });
    });
  });
}
