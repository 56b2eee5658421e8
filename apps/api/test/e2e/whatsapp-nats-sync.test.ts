import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  createWorkerRuntime,
  loadChannelPlugins,
  NatsJobQueue,
  openServices,
  type Services,
  type WorkerRuntime,
} from '@omni/runtime';
import {
  createFakeSocketFactory,
  type FakeWhatsAppScenario,
  generateTextHistory,
} from '@omni/testkit/whatsapp';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { API_KEY, auth, silentLog } from '../helpers.ts';

/**
 * WhatsApp through the API in NATS mode, wired as `main.ts` wires it: the API process holds no
 * socket (Discord plugin only, no WhatsApp), a sync-worker (`openServices` + `createWorkerRuntime`)
 * holds the session. Then the worker restarts and the phone pushes nothing again.
 */

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = randomBytes(4).toString('hex');
const nats = {
  stream: `T_WAS_${tag}`,
  subjectPrefix: `t.${tag}.jobs`,
  durable: `t_was_${tag}`,
  eventPrefix: `t.${tag}.sync`,
  whatsappPrefix: `t.${tag}.wa`,
};
const NOW = Math.floor(Date.now() / 1000) - 60;
const DAY = 86_400;
const ME = { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const BOB = '15550002222@s.whatsapp.net';
const alice = generateTextHistory({
  chat: ALICE,
  count: 300,
  newest: NOW,
  spacing: 3 * 3_600,
  idPrefix: 'A',
});
const bob = generateTextHistory({ chat: BOB, count: 40, newest: NOW, spacing: 12 * 3_600, idPrefix: 'B' });
const scenario: FakeWhatsAppScenario = {
  me: ME,
  linked: false,
  chats: [
    { jid: ALICE, name: 'Alice', messages: alice },
    { jid: BOB, name: 'Bob', messages: bob },
  ],
  // The push after linking carries the last day; older history is paged on demand.
  bootstrapSince: NOW - DAY,
  pushNames: [
    { id: ALICE, pushname: 'Alice' },
    { id: BOB, pushname: 'Bob' },
  ],
};

let db: TestDb;
let dataDir: string;
let api: Services;
let app: FastifyInstance;
let worker: { services: Services; runtime: WorkerRuntime } | null = null;

async function startWorker(phone: FakeWhatsAppScenario) {
  const fake = createFakeSocketFactory(phone);
  const services = await openServices({
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    dataDir,
    name: 'wa-sync-worker',
    plugins: loadChannelPlugins({}),
    log: silentLog,
    nats,
    whatsapp: { socketFactory: fake.factory, owner: `worker-${randomBytes(3).toString('hex')}` },
  });
  const runtime = createWorkerRuntime(
    services,
    {
      concurrency: 2,
      leaseMs: 5_000,
      gcIntervalMs: 0,
      reaperIntervalMs: 500,
      leaderRetryMs: 500,
      workerId: undefined,
    },
    silentLog,
  );
  await runtime.start();
  worker = { services, runtime };
  return fake;
}

async function stopWorker(): Promise<void> {
  if (!worker) return;
  await worker.runtime.stop();
  await worker.services.close();
  worker = null;
}

beforeAll(async () => {
  db = await createTestDb('postgres');
  dataDir = mkdtempSync(join(tmpdir(), 'omni-wa-sync-'));
  // As apps/api/src/main.ts opens it with NATS_URL: the channel plugins of the environment, no WhatsApp.
  api = await openServices({
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    dataDir,
    name: 'wa-sync-api',
    plugins: loadChannelPlugins({}),
    log: silentLog,
    nats,
    whatsapp: false,
  });
  app = await buildApp(
    {
      db: api.db,
      settings: api.settings,
      cipher: api.cipher,
      apiKey: API_KEY,
      plugins: api.plugins,
      jobs: api.jobs,
      queue: api.queue,
      events: api.events,
      profiles: api.profiles,
      whatsapp: api.whatsappGateway,
    },
    { logger: false },
  );
}, 120_000);

afterAll(async () => {
  await stopWorker();
  await app?.close();
  if (api?.queue instanceof NatsJobQueue) await api.queue.destroy().catch(() => {});
  await api?.close();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v2${url}`, headers: auth, ...(payload ? { payload } : {}) });

async function finished(id: string, jobId: string) {
  for (;;) {
    const job = (await call('GET', `/instances/${id}/sync/${jobId}`)).json().data;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await Bun.sleep(50);
  }
}

async function syncJob(id: string, body: object) {
  const res = await call('POST', `/instances/${id}/sync`, body);
  expect(res.statusCode).toBe(202);
  return finished(id, res.json().data.jobId);
}

const count = async (instance: string, chat: string) =>
  Number(
    (
      await db.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('instance_id', '=', instance)
        .where('chat_external_id', '=', chat)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Messages of `list` in the job's window (fixed at its start). */
const inWindow = (list: typeof alice, job: { progress: { window: { since: string } } }) =>
  list.filter((m) => Number(m.messageTimestamp) * 1000 >= Date.parse(job.progress.window.since)).length;

let id = '';

test('NATS mode: the API starts, inspects and profiles WhatsApp jobs; the worker holding the socket runs them', async () => {
  const fake = await startWorker(scenario);
  id = (await call('POST', '/instances', { name: `wa-${tag}`, channel: 'whatsapp-baileys' })).json().data.id;
  expect((await call('POST', `/instances/${id}/connect`)).json().data.connectionState).toBe('qr');
  await fake.last?.open();
  for (;;) {
    if ((await call('GET', `/instances/${id}`)).json().data.connectionState === 'open') break;
    await Bun.sleep(50);
  }

  const profile = await call('POST', `/instances/${id}/sync/profile`);
  expect(profile.statusCode).toBe(200);
  expect(profile.json().data.profile.name).toBe('Me');

  const job = await syncJob(id, { type: 'messages', depth: '7d' });
  expect(job.status).toBe('completed');
  expect(job.progress.chatsTotal).toBe(2);
  expect(await count(id, ALICE)).toBe(inWindow(alice, job));
  expect(await count(id, BOB)).toBe(inWindow(bob, job));

  const contacts = await syncJob(id, { type: 'contacts' });
  expect(contacts.status).toBe('completed');
  expect(contacts.progress.contacts).toMatchObject({ complete: true });
});

test('after a worker restart (no new push) a sync finds the stored chats and marks no contact absent', async () => {
  const before = await db.db
    .selectFrom('contacts')
    .select(['external_id', 'is_present'])
    .where('instance_id', '=', id)
    .orderBy('external_id')
    .execute();
  expect(before.length).toBeGreaterThan(0);
  expect(before.every((c) => c.is_present)).toBe(true);

  await stopWorker();
  // The same phone, linked; WhatsApp pushes the history once, after linking: nothing now.
  await startWorker({ ...scenario, linked: true, pushOnOpen: false });
  for (;;) {
    if ((await call('GET', `/instances/${id}`)).json().data.connectionState === 'open') break;
    await Bun.sleep(50);
  }

  const job = await syncJob(id, { type: 'messages', depth: '30d' });
  expect(job.status).toBe('completed');
  expect(job.progress.chatsTotal).toBe(2);
  expect(await count(id, ALICE)).toBe(inWindow(alice, job));
  expect(await count(id, BOB)).toBe(inWindow(bob, job));

  const contacts = await syncJob(id, { type: 'contacts' });
  expect(contacts.status).toBe('completed');
  expect(contacts.progress.contacts).toMatchObject({ complete: false, markedAbsent: 0 });
  const after = await db.db
    .selectFrom('contacts')
    .select(['external_id', 'is_present'])
    .where('instance_id', '=', id)
    .orderBy('external_id')
    .execute();
  expect(after).toEqual(before);
});
