import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { createDiscordPlugin } from '@omni/channel-discord';
import { CredentialCipher, SettingsService } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { JobRepository, PluginRegistry, type SyncRunner } from '@omni/sync-core';
import { FakeDiscord } from '@omni/testkit/discord';
import { createSyncRunner, InProcessEventBus } from '../../src/index.ts';
import { silentLog } from '../helpers.ts';

/** Paced against the fake and Postgres: room for a loaded machine; nothing here asserts time. */
setDefaultTimeout(120_000);

/** Discord's shapes scaled down 10× (5 per 500 ms per channel), the global limit made binding. */
const WINDOW = { limit: 5, windowMs: 500 };
const GLOBAL = { limit: 5, windowMs: 100 };

let t: TestDb;
let fake: FakeDiscord;
const cipher = new CredentialCipher(Buffer.alloc(32, 7));

beforeAll(async () => {
  t = await createTestDb('postgres');
  fake = await FakeDiscord.start({
    data: {
      seed: 5,
      nowMs: Date.now() - 1000,
      guilds: [
        {
          name: 'shared',
          channels: Array.from({ length: 4 }, (_, i) => ({
            name: `c${i}`,
            messageCount: 800,
            historyDays: 60,
          })),
        },
      ],
    },
    messageRateLimit: WINDOW,
    globalRateLimit: GLOBAL,
  });
  const settings = new SettingsService(t.db, { env: {}, cacheTtlMs: 0 });
  await settings.update({ 'sync.discord.messagesPerMinute': 60_000, 'sync.chatConcurrency': 4 });
}, 60_000);
afterAll(async () => {
  await fake?.stop();
  await t?.close();
});

/**
 * A worker process's runner exactly as production builds it (`createSyncRunner`, which wires the
 * process's rate limiter itself): its own plugin, settings and event bus — nothing shared with the
 * other "process" but the database.
 */
function workerRunner(): SyncRunner {
  const plugins = new PluginRegistry([
    createDiscordPlugin({
      api: fake.apiUrl,
      historyRequestsPerWindow: WINDOW.limit,
      historyWindowMs: WINDOW.windowMs,
      globalRequestsPerWindow: GLOBAL.limit,
      globalWindowMs: GLOBAL.windowMs,
    }),
  ]);
  return createSyncRunner(
    {
      db: t,
      settings: new SettingsService(t.db, { env: {}, cacheTtlMs: 0 }),
      plugins,
      cipher,
      events: new InProcessEventBus(),
      jobs: new JobRepository(t.db),
    },
    silentLog,
  );
}

test('two production runners on one bot token: 0 × 429, never above the route or global limit', async () => {
  const jobs = new JobRepository(t.db);
  const runners = [workerRunner(), workerRunner()];
  const instances = await Promise.all(
    runners.map(async () => {
      const id = randomUUID();
      const row = await t.db
        .insertInto('instances')
        .values({
          id,
          name: `discord-${randomUUID()}`,
          channel: 'discord',
          credentials: cipher.encryptJson({ token: fake.token }, id),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    }),
  );
  const created = await Promise.all(
    instances.map(async (id) => (await jobs.createJob(id, 'messages', { depth: 'all' })).job),
  );
  const results = await Promise.all(runners.map((r, i) => r.runJob(created[i]!.id, `worker-${i}`)));
  for (const r of results) expect(r?.status).toBe('completed');
  for (const id of instances) {
    const row = await t.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('instance_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(Number(row.n)).toBe(4 * 800);
  }
  expect(fake.stats.status429).toBe(0);
  expect(fake.stats.maxRouteWindowRequests).toBeLessThanOrEqual(WINDOW.limit);
  expect(fake.stats.maxGlobalWindowRequests).toBeLessThanOrEqual(GLOBAL.limit);
});
