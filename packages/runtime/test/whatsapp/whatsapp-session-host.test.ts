import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes, randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { WhatsAppPlugin } from '@omni/channel-whatsapp';
import { CredentialCipher } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { instanceId, PluginRegistry, PostgresAuthStateStore, SessionLeaseStore } from '@omni/sync-core';
import { createFakeSocketFactory, type FakeSocketFactory } from '@omni/testkit/whatsapp';
import { ProfileSyncService } from '../../src/profile/profile-sync-service.ts';
import { startWhatsApp, type WhatsAppWiring } from '../../src/runtime/whatsapp.ts';
import { NatsWhatsAppGateway } from '../../src/whatsapp/nats-whatsapp-gateway.ts';
import { WhatsAppGatewayError } from '../../src/whatsapp/whatsapp-gateway-error.ts';
import { WhatsAppSessionHost } from '../../src/whatsapp/whatsapp-session-host.ts';
import { natsConnect, silentLog, until } from '../helpers.ts';

const prefix = `t.${randomBytes(4).toString('hex')}.wa`;
const cipher = new CredentialCipher(Buffer.alloc(32, 9));
const ME = { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' };

interface Worker {
  owner: string;
  nc: NatsConnection;
  plugin: WhatsAppPlugin;
  wiring: WhatsAppWiring;
  fake: FakeSocketFactory;
  host: WhatsAppSessionHost;
}

let db: TestDb;
let apiNc: NatsConnection;
let gateway: NatsWhatsAppGateway;
const workers: Worker[] = [];

async function startWorker(owner: string): Promise<Worker> {
  const nc = await natsConnect();
  const fake = createFakeSocketFactory({ me: ME, linked: true, chats: [] });
  const profiles = new ProfileSyncService(db.db, cipher, new PluginRegistry([]), silentLog);
  const wiring = startWhatsApp({ db: db.db, cipher, profiles, log: silentLog, socketFactory: fake.factory });
  const plugin = wiring.plugin;
  const host = new WhatsAppSessionHost(
    {
      nc,
      control: plugin,
      leases: new SessionLeaseStore(db.db),
      db: db.db,
      log: silentLog,
      profiles,
      replay: wiring.replay,
    },
    { owner, subjectPrefix: prefix, leaseMs: 1500, renewMs: 200 },
  );
  const worker = { owner, nc, plugin, wiring, fake, host };
  workers.push(worker);
  await host.start();
  return worker;
}

async function stopWorker(worker: Worker, options: { handOver?: boolean } = {}): Promise<void> {
  await worker.host.stop(options);
  await worker.wiring.close();
  await worker.nc.close();
}

beforeAll(async () => {
  db = await createTestDb('postgres');
  apiNc = await natsConnect();
  gateway = new NatsWhatsAppGateway(apiNc, { subjectPrefix: prefix, timeoutMs: 20_000 });
}, 60_000);

afterAll(async () => {
  for (const worker of workers) await stopWorker(worker).catch(() => {});
  await apiNc?.close();
  await db?.close();
}, 60_000);

test('a stored session is started by exactly one of two workers, and handed over on a clean stop', async () => {
  const { id } = await db.db
    .insertInto('instances')
    .values({ name: `wa-${randomUUID()}`, channel: 'whatsapp-baileys' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await new PostgresAuthStateStore(db.db, cipher).write(id, new Map([['creds', '{"registered":true}']]));

  const [a, b] = await Promise.all([startWorker('host-a'), startWorker('host-b')]);
  const state = await until(async () => {
    const live = await gateway.status(instanceId(id));
    return live?.status === 'open' ? live : null;
  });
  expect(String(state.instanceId)).toBe(id);
  expect(a.fake.sockets.length + b.fake.sockets.length).toBe(1);
  const leases = new SessionLeaseStore(db.db);
  const holder = (await leases.get(id))?.owner === 'host-a' ? a : b;
  const other = holder === a ? b : a;
  expect(holder.fake.sockets).toHaveLength(1);
  expect(holder.host.heldInstanceIds).toEqual([id]);
  expect(other.host.heldInstanceIds).toEqual([]);

  await stopWorker(holder);
  await until(async () => (await gateway.status(instanceId(id)))?.status === 'open');
  expect(other.fake.sockets).toHaveLength(1);
  expect((await leases.get(id))?.owner).toBe(other.owner);
});

test('a connect for a session whose lease a silent worker holds is WHATSAPP_SESSION_HELD', async () => {
  const { id } = await db.db
    .insertInto('instances')
    .values({ name: `wa-${randomUUID()}`, channel: 'whatsapp-baileys' })
    .returning('id')
    .executeTakeFirstOrThrow();
  expect(await new SessionLeaseStore(db.db).acquire(id, 'silent-worker', 60_000)).toBe(true);
  const error = await gateway.connect(instanceId(id)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WhatsAppGatewayError);
  expect((error as WhatsAppGatewayError).code).toBe('WHATSAPP_SESSION_HELD');
});

test('the gateway: no responder is WHATSAPP_UNAVAILABLE (status: none), a silent holder is WHATSAPP_TIMEOUT', async () => {
  const id = instanceId(randomUUID());
  expect(await gateway.status(id)).toBeNull();
  const unavailable = await gateway.qr(id).catch((e: unknown) => e);
  expect((unavailable as WhatsAppGatewayError).code).toBe('WHATSAPP_UNAVAILABLE');
  await gateway.disconnect(id);

  const silent = apiNc.subscribe(`${prefix}.${id}.*`, { callback: () => {} });
  await apiNc.flush();
  const impatient = new NatsWhatsAppGateway(apiNc, { subjectPrefix: prefix, timeoutMs: 100 });
  const timedOut = await impatient.qr(id).catch((e: unknown) => e);
  silent.unsubscribe();
  expect(timedOut).toBeInstanceOf(WhatsAppGatewayError);
  expect((timedOut as WhatsAppGatewayError).code).toBe('WHATSAPP_TIMEOUT');
});
