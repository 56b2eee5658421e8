import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createDiscordPlugin } from '@omni/channel-discord';
import { CredentialCipher, SettingsService } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { NatsEventBus, NatsJobQueue, ProfileSyncService } from '@omni/runtime';
import { JobRepository, PluginRegistry } from '@omni/sync-core';
import { FakeDiscord } from '@omni/testkit/discord';
import type { Subprocess } from 'bun';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { API_KEY, auth, silentLog } from '../helpers.ts';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const WORKER_MAIN = join(import.meta.dir, '../../../sync-worker/src/main.ts');
const SECRET = randomBytes(32).toString('hex');
const tag = randomBytes(4).toString('hex');
const names = {
  stream: `T_E2E_${tag}`,
  subjectPrefix: `t.${tag}.jobs`,
  durable: `t_e2e_${tag}`,
  eventPrefix: `t.${tag}.sync`,
};

let fake: FakeDiscord;
let db: TestDb;
let nc: NatsConnection;
let queue: NatsJobQueue;
let app: FastifyInstance;
const workers = new Map<string, Subprocess>();

function startWorker(id: string): Subprocess {
  const proc = Bun.spawn(['bun', 'run', WORKER_MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      NATS_URL,
      NATS_STREAM: names.stream,
      NATS_SUBJECT_PREFIX: names.subjectPrefix,
      NATS_DURABLE: names.durable,
      NATS_EVENT_PREFIX: names.eventPrefix,
      OMNI_SECRET_KEY: SECRET,
      DISCORD_API_URL: fake.apiUrl,
      DISCORD_HISTORY_REQUESTS_PER_WINDOW: '1000',
      DISCORD_HISTORY_WINDOW_MS: '1000',
      DISCORD_PAGE_SIZE: '20',
      WORKER_ID: id,
      WORKER_LEASE_MS: '3000',
      REAPER_INTERVAL_MS: '200',
      LEADER_RETRY_MS: '300',
      LEADER_LEASE_MS: '3000',
      LOG_LEVEL: 'warn',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  workers.set(id, proc);
  return proc;
}

beforeAll(async () => {
  fake = await FakeDiscord.start({
    data: {
      seed: 3,
      guilds: [
        {
          name: 'Big',
          channels: [
            { name: 'firehose', messageCount: 1600, historyDays: 20 },
            { name: 'side', messageCount: 300, historyDays: 20 },
          ],
        },
      ],
    },
    latencyMs: 15,
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
  });
  db = await createTestDb('postgres');
  nc = await connect({ servers: NATS_URL });
  queue = new NatsJobQueue(nc, names);
  await queue.ensure();
  const settings = new SettingsService(db.db, { env: {}, cacheTtlMs: 0 });
  await settings.update({ 'sync.discord.messagesPerMinute': 60_000 });
  const cipher = new CredentialCipher(SECRET);
  const plugins = new PluginRegistry([createDiscordPlugin({ api: fake.apiUrl })]);
  app = await buildApp({
    db,
    settings,
    cipher,
    apiKey: API_KEY,
    plugins,
    jobs: new JobRepository(db.db),
    queue,
    events: new NatsEventBus(nc, names.eventPrefix),
    profiles: new ProfileSyncService(db.db, cipher, plugins, silentLog),
  });
  await app.ready();
  startWorker('w1');
  startWorker('w2');
}, 60_000);

afterAll(async () => {
  for (const proc of workers.values()) {
    proc.kill('SIGKILL');
    await proc.exited;
  }
  await app.close();
  await queue.destroy();
  await nc.close();
  await db.close();
  await fake.stop();
}, 60_000);

async function connectedInstance(name: string): Promise<string> {
  const { id } = (
    await app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: auth,
      payload: { name, channel: 'discord' },
    })
  ).json().data;
  return id;
}

async function leaseHolderAfter(jobId: string, stored: number): Promise<string> {
  for (;;) {
    const row = await db.db
      .selectFrom('sync_jobs')
      .selectAll()
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    if (row.status === 'running' && Number(row.progress.stored ?? 0) >= stored && row.lease_owner)
      return row.lease_owner;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function finished(id: string, jobId: string) {
  for (;;) {
    const job = (await app.inject({ url: `/api/v2/instances/${id}/sync/${jobId}`, headers: auth })).json()
      .data;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('API + two worker processes over JetStream: one is SIGKILLed mid-job, the other finishes with exact counts', async () => {
  const id = await connectedInstance('big');
  expect(
    (
      await app.inject({
        method: 'POST',
        url: `/api/v2/instances/${id}/connect`,
        headers: auth,
        payload: { token: fake.token },
      })
    ).statusCode,
  ).toBe(200);
  const created = await app.inject({
    method: 'POST',
    url: `/api/v2/instances/${id}/sync`,
    headers: auth,
    payload: { type: 'messages', depth: 'all' },
  });
  expect(created.statusCode).toBe(202);
  const { jobId } = created.json().data;
  const sse = app.inject({ url: `/api/v2/instances/${id}/sync/${jobId}/events`, headers: auth });

  // Wait until some batches are committed, then kill the lease holder without warning.
  const victim = await leaseHolderAfter(jobId, 200);
  const proc = workers.get(victim);
  expect(proc).toBeDefined();
  proc?.kill('SIGKILL');
  await proc?.exited;
  const storedAtKill = await db.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_id', '=', id)
    .executeTakeFirstOrThrow();

  const job = await finished(id, jobId);
  expect(job.status).toBe('completed');
  // Taken over at least once (more if a loaded machine let a lease lapse): counts stay exact anyway.
  expect(job.attempts).toBeGreaterThanOrEqual(2);

  const window = job.progress.window as unknown as { until: string };
  const expected = fake.data.chats.flatMap((c) => fake.expectedIds(c, null, Date.parse(window.until)));
  expect(expected.length).toBe(1900);
  const rows = await db.db
    .selectFrom('messages')
    .select('external_id')
    .where('instance_id', '=', id)
    .execute();
  expect(rows.length).toBe(expected.length);
  expect(new Set(rows.map((r) => r.external_id))).toEqual(new Set(expected));
  expect(Number(storedAtKill.n)).toBeLessThan(expected.length);
  expect(job.progress.stored).toBe(expected.length);
  expect(job.progress.duplicates).toBe(0);
  expect(job.progress.fetched).toBe(expected.length);

  const events = [...(await sse).body.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
  expect(events.at(-1)).toBe('sync.completed');
}, 90_000);

test('SIGTERM: the worker checkpoints, gives the job back and exits 0; another worker continues it', async () => {
  startWorker('w3');
  const id = await connectedInstance('big-2');
  await app.inject({
    method: 'POST',
    url: `/api/v2/instances/${id}/connect`,
    headers: auth,
    payload: { token: fake.token },
  });
  const { jobId } = (
    await app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/sync`,
      headers: auth,
      payload: { type: 'messages', depth: 'all' },
    })
  ).json().data;
  const holder = await leaseHolderAfter(jobId, 200);
  const proc = workers.get(holder);
  proc?.kill('SIGTERM');
  expect(await proc?.exited).toBe(0);
  const job = await finished(id, jobId);
  expect(job.status).toBe('completed');
  expect(job.attempts).toBeGreaterThanOrEqual(2);
  expect(job.progress.stored).toBe(1900);
  expect(job.progress.duplicates).toBe(0);
  const rows = await db.db.selectFrom('messages').select('id').where('instance_id', '=', id).execute();
  expect(rows.length).toBe(1900);
}, 90_000);
