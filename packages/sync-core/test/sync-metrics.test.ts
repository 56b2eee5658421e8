import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { TestDb } from '@omni/db/testing';
import {
  ExponentialCooldownPolicy,
  fixedRateSource,
  JobRepository,
  PluginRegistry,
  RateLimiter,
  readProgress,
  type SyncMetrics,
  SyncRunner,
} from '../src/index.ts';
import { newInstance, testDb } from './support/test-db.ts';
import { dataset, TestPlugin } from './support/test-plugin.ts';

/** A SyncMetrics that adds everything up. */
function recordingMetrics() {
  const totals = {
    requests: {} as Record<string, number>,
    waits: {} as Record<string, number>,
    waitSeconds: 0,
    fetched: 0,
    stored: 0,
    duplicates: 0,
  };
  const metrics: SyncMetrics = {
    platformRequest: ({ channel, kind, outcome }) => {
      const key = `${channel}/${kind}/${outcome}`;
      totals.requests[key] = (totals.requests[key] ?? 0) + 1;
    },
    rateLimitWait: ({ reason, seconds }) => {
      totals.waits[reason] = (totals.waits[reason] ?? 0) + 1;
      totals.waitSeconds += seconds;
    },
    batchCommitted: (b) => {
      totals.fetched += b.fetched;
      totals.stored += b.stored;
      totals.duplicates += b.duplicates;
    },
  };
  return { metrics, totals };
}

describe('SyncRunner metrics', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDb('postgres');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  test('every platform request, 429 and wait is reported, and batches add up to the progress', async () => {
    const plugin = new TestPlugin({
      chats: dataset(3, 25),
      pageSize: 10,
      rateLimitTimes: 2,
      retryAfterMs: 20,
    });
    const { metrics, totals } = recordingMetrics();
    const runner = new SyncRunner({
      db: t.db,
      plugins: new PluginRegistry([plugin]),
      limiter: new RateLimiter({
        rates: fixedRateSource({}),
        cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
      }),
      chatConcurrency: 1,
      metrics,
    });
    const jobs = new JobRepository(t.db);
    const instance = await newInstance(t, 'discord');
    // Rows already there come back as duplicates, so that counter is exercised too.
    const { job: first } = await jobs.createJob(instance, 'messages', { depth: 'all' });
    await new SyncRunner({
      db: t.db,
      plugins: new PluginRegistry([new TestPlugin({ chats: dataset(1, 25), pageSize: 10 })]),
      limiter: new RateLimiter({ rates: fixedRateSource({}) }),
    }).runJob(first.id, 'w0');
    const { job } = await jobs.createJob(instance, 'messages', { depth: 'all', force: true });
    const result = await runner.runJob(job.id, 'w1');
    expect(result?.status).toBe('completed');
    const progress = readProgress(result?.job?.progress);

    expect(totals.fetched).toBe(progress.fetched);
    expect(totals.stored).toBe(progress.stored);
    expect(totals.duplicates).toBe(progress.duplicates);
    expect(progress.duplicates).toBeGreaterThan(0);
    expect(totals.requests['discord/messages/rate_limited']).toBe(2);
    expect(totals.requests['discord/messages/ok']).toBe(plugin.requests - 2);
    expect(totals.waits.cooldown).toBeGreaterThanOrEqual(2);
    expect(totals.waitSeconds).toBeGreaterThan(0);
  });
});
