import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import {
  ExponentialCooldownPolicy,
  fixedRateSource,
  JobRepository,
  MemoryEventSink,
  PluginRegistry,
  RateLimiter,
  readProgress,
  type SyncJobConfig,
  SyncRunner,
  type SyncRunnerOptions,
  VirtualClock,
} from '../src/index.ts';
import { msg } from './support/messages.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';
import { type TestChat, TestPlugin, type TestPluginOptions } from './support/test-plugin.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const engine of TEST_ENGINES) {
  describe(`a running job's total, ETA and pauses on ${engine}`, () => {
    let t: TestDb;
    let jobs: JobRepository;

    beforeAll(async () => {
      t = await testDb(engine);
      jobs = new JobRepository(t.db);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    const setup = (pluginOptions: TestPluginOptions, runner: Partial<SyncRunnerOptions> = {}) => {
      const clock = new VirtualClock(Date.now());
      const events = new MemoryEventSink();
      const limiter = new RateLimiter({
        rates: fixedRateSource({}),
        clock,
        cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
      });
      const plugin = new TestPlugin(pluginOptions);
      const r = new SyncRunner({
        db: t.db,
        plugins: new PluginRegistry([plugin]),
        limiter,
        events,
        clock,
        ...runner,
      });
      return { plugin, clock, events, runner: r };
    };

    const run = async (r: SyncRunner, inst: string, config: SyncJobConfig) => {
      const { job } = await jobs.createJob(inst, 'messages', config);
      const result = await r.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      return result;
    };

    test('a cooldown longer than 2 s is announced as sync.paused {until, reason}; shorter waits are not', async () => {
      const inst = await createInstance(t, 'discord');
      const now = Date.now();
      const chats: TestChat[] = [
        {
          id: 'paused-1',
          name: 'Paused',
          messages: Array.from({ length: 30 }, (_, i) => msg('paused-1', `p-${i}`, now - (30 - i) * 60_000)),
        },
      ];
      const long = setup({ chats, pageSize: 10, rateLimitTimes: 1, retryAfterMs: 5000 });
      const startedAt = long.clock.now();
      const result = await run(long.runner, inst, { depth: '7d' });
      expect(readProgress(result?.job?.progress)).toMatchObject({ rateLimitWaits: 1, rateLimitWaitMs: 5000 });
      const paused = long.events.ofType('sync.paused');
      expect(paused).toHaveLength(1);
      expect(paused[0]).toMatchObject({
        type: 'sync.paused',
        jobId: result?.job?.id,
        instanceId: inst,
        jobType: 'messages',
        reason: 'cooldown',
        until: new Date(startedAt + 5000).toISOString(),
      });
      expect(paused[0]?.progress).toBeDefined();
      const types = long.events.events.map((e) => e.type);
      expect(types.indexOf('sync.paused')).toBeLessThan(types.indexOf('sync.completed'));

      // A 2 s cooldown is a wait, counted, but no pause worth announcing.
      const inst2 = await createInstance(t, 'discord');
      const short = setup({ chats, pageSize: 10, rateLimitTimes: 1, retryAfterMs: 2000 });
      const shortResult = await run(short.runner, inst2, { depth: '7d' });
      expect(readProgress(shortResult?.job?.progress)).toMatchObject({
        rateLimitWaits: 1,
        rateLimitWaitMs: 2000,
      });
      expect(short.events.ofType('sync.paused')).toHaveLength(0);
    }, 60_000);

    test('estimatedTotal comes from the stored density; the ETA falls as pages come in', async () => {
      const inst = await createInstance(t, 'discord');
      const now = Date.now();
      // One message an hour for 40 days.
      const chats: TestChat[] = [
        {
          id: 'dense-1',
          name: 'Dense',
          messages: Array.from({ length: 40 * 24 }, (_, i) =>
            msg('dense-1', `d-${i}`, now - (40 * 24 - i) * HOUR),
          ),
        },
      ];
      // The last 5 days first: the chat's stored history (about 120 messages, one an hour).
      const first = setup({ chats, pageSize: 100 });
      const firstResult = await run(first.runner, inst, { since: new Date(now - 5 * DAY).toISOString() });
      const firstStored = readProgress(firstResult?.job?.progress).stored;
      expect(firstStored).toBeGreaterThanOrEqual(119);
      expect(firstStored).toBeLessThanOrEqual(121);

      // Then 30 days: the gap is the 25 days before, estimated at the stored density (~1 an hour).
      let clock: VirtualClock | null = null;
      const second = setup(
        { chats, pageSize: 100, beforePage: () => clock?.advance(1000) },
        { progressIntervalMs: 0 },
      );
      clock = second.clock;
      const result = await run(second.runner, inst, { depth: '30d' });
      const p = readProgress(result?.job?.progress);
      expect(p.fetched).toBeGreaterThanOrEqual(25 * 24 - 2);
      expect(p.fetched).toBeLessThanOrEqual(25 * 24 + 2);
      // Density 120 / 119 h over 25 days: about 605, within 2 % of what the sync then fetched.
      expect(p.estimatedTotal).toBeGreaterThan(p.fetched * 0.98);
      expect(p.estimatedTotal).toBeLessThan(p.fetched * 1.03);

      const progress = second.events.ofType('sync.progress').map((e) => e.progress);
      // Every progress event carries the total, fixed at the job's start.
      expect(new Set(progress.map((q) => q.estimatedTotal))).toEqual(new Set([p.estimatedTotal]));
      const etas = progress.filter((q) => q.fetched > 0).map((q) => q.etaSeconds);
      expect(etas.length).toBeGreaterThanOrEqual(5);
      expect(etas.every((eta) => typeof eta === 'number')).toBe(true);
      // 100 messages a (virtual) second: ~6 s left after the first page, less after each one.
      expect(etas[0]).toBeGreaterThanOrEqual(4);
      for (let i = 1; i < etas.length; i++)
        expect(etas[i] as number).toBeLessThanOrEqual(etas[i - 1] as number);
      expect(etas.at(-1)).toBe(0);

      expect(p.unestimatedChats).toBe(0);

      // Without a basis (nothing stored yet) the chat adds nothing and is counted as unestimated;
      // the ETA is then the window's share.
      const fresh = await createInstance(t, 'discord');
      const third = setup({ chats, pageSize: 100 });
      const freshResult = await run(third.runner, fresh, { depth: '7d' });
      expect(readProgress(freshResult?.job?.progress)).toMatchObject({
        estimatedTotal: 0,
        unestimatedChats: 1,
      });
    }, 60_000);
  });
}
