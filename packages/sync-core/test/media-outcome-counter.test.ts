import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { JobRepository, LeaseLostError, leaseOf, MediaOutcomeCounter, readProgress } from '../src/index.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`MediaOutcomeCounter on ${engine}`, () => {
    let t: TestDb;
    let jobs: JobRepository;
    let counter: MediaOutcomeCounter;
    beforeAll(async () => {
      t = await testDb(engine);
      jobs = new JobRepository(t.db);
      counter = new MediaOutcomeCounter(t.db, jobs);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    const media = (p: ReturnType<typeof readProgress>) => ({
      mediaDownloaded: p.mediaDownloaded,
      mediaBytes: p.mediaBytes,
      mediaSkipped: p.mediaSkipped,
      mediaFailed: p.mediaFailed,
      mediaFailReasons: p.mediaFailReasons ?? {},
      mediaSkipReasons: p.mediaSkipReasons ?? {},
    });

    test('each item counts once per job, with the outcome of its last run; a stale run counts nothing', async () => {
      const inst = await createInstance(t, 'discord');
      const { job } = await jobs.createJob(inst, 'messages', { depth: '7d' });
      await jobs.claimJob(job.id, 'w1', 60_000);
      const run1 = leaseOf(await jobs.getJob(job.id));
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      await counter.count(run1, a, { status: 'failed', reason: 'not-found' });
      await counter.count(run1, b, { status: 'failed', reason: 'not-found' });
      await counter.count(run1, c, { status: 'failed', reason: 'timeout' });
      await jobs.releaseLease(run1);
      await jobs.claimJob(job.id, 'w2', 60_000);
      const run2 = leaseOf(await jobs.getJob(job.id));

      // The first run, taken over, counts nothing more.
      await expect(
        counter.count(run1, randomUUID(), { status: 'failed', reason: 'x' }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      // The resumed run: a stored, b skipped, c failed again (for another reason).
      await counter.count(run2, a, { status: 'stored', bytes: 10 });
      await counter.count(run2, b, { status: 'skipped', reason: 'type' });
      const p = await counter.count(run2, c, { status: 'failed', reason: 'download-failed' });
      expect(media(p)).toEqual({
        mediaDownloaded: 1,
        mediaBytes: 10,
        mediaSkipped: 1,
        mediaFailed: 1,
        mediaFailReasons: { 'download-failed': 1 },
        mediaSkipReasons: { type: 1 },
      });
      expect(media(readProgress((await jobs.getJob(job.id)).progress))).toEqual(media(p));
    });
  });
}
