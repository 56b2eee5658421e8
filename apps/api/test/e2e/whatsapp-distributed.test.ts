import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { NatsJobQueue, openServices, type Services } from '@omni/runtime';
import { SessionLeaseStore } from '@omni/sync-core';
import {
  createFakeSocketFactory,
  type FakeSocketFactory,
  type FakeWhatsAppScenario,
} from '@omni/testkit/whatsapp';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { API_KEY, auth, silentLog } from '../helpers.ts';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = randomBytes(4).toString('hex');
const nats = {
  stream: `T_WA_${tag}`,
  subjectPrefix: `t.${tag}.jobs`,
  durable: `t_wa_${tag}`,
  eventPrefix: `t.${tag}.sync`,
  whatsappPrefix: `t.${tag}.wa`,
};
const ME = { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' };
// Shared by both workers' factories: once linked, a reconnect opens without a QR.
const scenario: FakeWhatsAppScenario = { me: ME, linked: false, pairingCode: 'WXYZ-9876', chats: [] };

let db: TestDb;
let dataDir: string;
let api: Services;
let app: FastifyInstance;
const workers = new Map<string, { services: Services; fake: FakeSocketFactory }>();

async function startWorker(owner: string): Promise<void> {
  const fake = createFakeSocketFactory(scenario);
  const services = await openServices({
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    dataDir,
    name: `wa-${owner}`,
    plugins: [],
    log: silentLog,
    nats,
    whatsapp: { socketFactory: fake.factory, owner, leaseMs: 1500, renewMs: 250 },
  });
  workers.set(owner, { services, fake });
}

beforeAll(async () => {
  db = await createTestDb('postgres');
  dataDir = mkdtempSync(join(tmpdir(), 'omni-wa-'));
  api = await openServices({
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    dataDir,
    name: 'wa-api',
    plugins: [],
    log: silentLog,
    nats,
  });
  await startWorker('worker-a');
  await startWorker('worker-b');
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
  for (const { services } of workers.values()) await services.close();
  await app?.close();
  if (api?.queue instanceof NatsJobQueue) await api.queue.destroy().catch(() => {});
  await api?.close();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url: `/api/v2${url}`, headers: auth, ...(payload ? { payload } : {}) });

const socketCount = () => [...workers.values()].reduce((n, w) => n + w.fake.sockets.length, 0);

async function statusBecomes(id: string, state: string): Promise<void> {
  for (;;) {
    const res = await call('GET', `/instances/${id}/status`);
    if (res.statusCode === 200 && res.json().data.state === state) return;
    await Bun.sleep(50);
  }
}

test('distributed WhatsApp: one socket across two workers, answered over NATS, taken over when its holder dies', async () => {
  const { id } = (await call('POST', '/instances', { name: `wa-${tag}`, channel: 'whatsapp-baileys' })).json()
    .data;

  const noSession = await call('GET', `/instances/${id}/qr`);
  expect(noSession.statusCode).toBe(503);
  expect(noSession.json().error.code).toBe('WHATSAPP_UNAVAILABLE');
  expect((await call('GET', `/instances/${id}/status`)).json().data.state).toBe('disconnected');

  const connected = await call('POST', `/instances/${id}/connect`);
  expect(connected.statusCode).toBe(200);
  expect(connected.json().data.connectionState).toBe('qr');
  expect((await call('POST', `/instances/${id}/connect`)).statusCode).toBe(200);
  expect(socketCount()).toBe(1);

  const leases = new SessionLeaseStore(api.db.db);
  const holderId = (await leases.get(id))?.owner ?? '';
  const holder = workers.get(holderId);
  const [otherId, other] = [...workers.entries()].find(([owner]) => owner !== holderId) ?? [];
  expect(holder?.fake.sockets).toHaveLength(1);
  expect(other?.fake.sockets).toHaveLength(0);
  expect(holder?.services.whatsappHost?.heldInstanceIds).toEqual([id]);
  expect(await leases.acquire(id, otherId ?? 'other', 60_000)).toBe(false);

  const qr = await call('GET', `/instances/${id}/qr`);
  expect(qr.statusCode).toBe(200);
  expect(qr.json().data.qr).toStartWith('2@fake-qr-');
  const pair = await call('POST', `/instances/${id}/pair`, { phoneNumber: '+1 (555) 999-0000' });
  expect(pair.statusCode).toBe(200);
  expect(pair.json().data).toMatchObject({ code: 'WXYZ-9876', phoneNumber: '+15559990000' });
  expect((await call('GET', `/instances/${id}/status`)).json().data.state).toBe('qr');

  await holder?.fake.last?.open();
  await statusBecomes(id, 'open');
  const linked = await call('GET', `/instances/${id}/qr`);
  expect(linked.statusCode).toBe(200);
  expect(linked.json().data).toMatchObject({ qr: null, status: 'open' });

  // The holder dies: it stops renewing and its socket goes away; the lease expires.
  scenario.linked = true;
  await holder?.services.whatsappHost?.stop({ handOver: false });
  await holder?.services.close();
  workers.delete(holderId);
  await statusBecomes(id, 'open');
  expect(other?.fake.sockets).toHaveLength(1);
  expect((await leases.get(id))?.owner).toBe(otherId);
  expect(other?.services.whatsappHost?.heldInstanceIds).toEqual([id]);

  const loggedOut = await call('POST', `/instances/${id}/logout`);
  expect(loggedOut.statusCode).toBe(200);
  expect(loggedOut.json().data.connectionState).toBe('logged_out');
  expect(await leases.get(id)).toBeNull();
  expect(other?.services.whatsappHost?.heldInstanceIds).toEqual([]);
  expect((await call('GET', `/instances/${id}/qr`)).json().error.code).toBe('WHATSAPP_UNAVAILABLE');
});
