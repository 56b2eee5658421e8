import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SettingsService } from '@omni/db';
import type { TestDb } from '@omni/db/testing';
import { fixedRateSource, JobRepository, PluginRegistry, RateLimiter, SyncRunner } from '../src/index.ts';
import { newInstance, testDb } from './support/test-db.ts';
import { dataset, TestPlugin } from './support/test-plugin.ts';

/** Runs a messages job over 8 chats and returns the most chats that were being fetched at once. */
async function peakChats(t: TestDb, settings: SettingsService, chatConcurrency?: number): Promise<number> {
  let active = 0;
  let peak = 0;
  const plugin = new TestPlugin({
    chats: dataset(8, 6),
    pageSize: 3,
    // Each page is held until no other chat has joined for 300 ms, so every chat the runner lets
    // run at once is seen at once, however slowly a loaded machine starts them.
    beforePage: async () => {
      active += 1;
      peak = Math.max(peak, active);
      for (let seen = active; ; seen = active) {
        await Bun.sleep(300);
        if (active === seen) break;
      }
      active -= 1;
    },
  });
  const runner = new SyncRunner({
    db: t.db,
    plugins: new PluginRegistry([plugin]),
    limiter: new RateLimiter({ rates: fixedRateSource({}) }),
    settings,
    ...(chatConcurrency === undefined ? {} : { chatConcurrency }),
  });
  const jobs = new JobRepository(t.db);
  const { job } = await jobs.createJob(await newInstance(t, 'discord'), 'messages', { depth: 'all' });
  const result = await runner.runJob(job.id, 'w1');
  expect(result?.status).toBe('completed');
  return peak;
}

describe('sync.chatConcurrency', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDb('postgres');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  test('each job reads the setting as it starts; an explicit runner option wins', async () => {
    const settings = new SettingsService(t.db, { env: {} });
    expect(await settings.get('sync.chatConcurrency')).toBe(4);
    expect(await peakChats(t, settings)).toBe(4);

    await settings.update({ 'sync.chatConcurrency': 2 });
    expect(await peakChats(t, settings)).toBe(2);

    await settings.update({ 'sync.chatConcurrency': 6 });
    expect(await peakChats(t, settings)).toBe(6);
    expect(await peakChats(t, settings, 1)).toBe(1);
  }, 60_000);

  test('is validated: a whole number from 1 to 64', async () => {
    const settings = new SettingsService(t.db, { env: {} });
    for (const bad of [0, 65, 2.5, '4']) {
      await expect(settings.update({ 'sync.chatConcurrency': bad })).rejects.toThrow();
    }
    expect(
      new SettingsService(t.db, { env: { SYNC_CHAT_CONCURRENCY: '8' } }).get('sync.chatConcurrency'),
    ).resolves.toBe(8);
  });
});
