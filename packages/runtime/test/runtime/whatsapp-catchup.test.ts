import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { buildCoverageReport, instanceId, readCoverage } from '@omni/sync-core';
import {
  createFakeSocketFactory,
  type FakeSocketFactory,
  type FakeWhatsAppScenario,
  generateTextHistory,
  waMessages,
} from '@omni/testkit/whatsapp';
import { createWorkerRuntime } from '../../src/runtime/create-worker-runtime.ts';
import { openServices, type Services } from '../../src/runtime/open-services.ts';
import type { WorkerRuntime } from '../../src/runtime/worker-runtime.ts';
import { silentLog, until } from '../helpers.ts';

/**
 * Gap healing and the `live` edge through the real wiring: `openServices` (embedded: the process
 * holds the WhatsApp socket, `startWhatsApp` with the testkit's fake socket) and
 * `createWorkerRuntime` on Postgres. The socket drops, a simulated day of messages reaches the
 * phone meanwhile, and the reopened socket is handed only the newest of them (the offline queue).
 */

const DAY = 86_400;
const NOW = Math.floor(Date.now() / 1000) - 60;
/** The covered history ends here: one day before now (the outage). */
const T0 = NOW - DAY;
const ME = { id: '15559990000@s.whatsapp.net', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const before = generateTextHistory({
  chat: ALICE,
  count: 300,
  newest: T0 - 600,
  spacing: 1_800,
  idPrefix: 'A',
});
/** The day the socket was down: 120 messages, of which the server keeps the newest 40 for the device. */
const day = generateTextHistory({ chat: ALICE, count: 120, newest: NOW - 120, spacing: 600, idPrefix: 'D' });
const scenario: FakeWhatsAppScenario = {
  me: ME,
  linked: true,
  chats: [{ jid: ALICE, name: 'Alice', messages: [...before] }],
  bootstrapSince: T0 - 3 * DAY,
};

let db: TestDb;
let dataDir: string;
let fake: FakeSocketFactory;
let services: Services;
let runtime: WorkerRuntime | null = null;
let id: string;

beforeAll(async () => {
  db = await createTestDb('postgres');
  dataDir = mkdtempSync(join(tmpdir(), 'wa-catchup-'));
  fake = createFakeSocketFactory(scenario);
  services = await openServices({
    databaseUrl: db.url,
    natsUrl: undefined,
    dataDir,
    name: 'wa-catchup',
    plugins: [],
    log: silentLog,
    whatsapp: { socketFactory: fake.factory },
  });
  id = (
    await db.db
      .insertInto('instances')
      .values({ name: 'wa', channel: 'whatsapp-baileys' })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  runtime = createWorkerRuntime(
    services,
    {
      concurrency: 2,
      leaseMs: 30_000,
      gcIntervalMs: 1_000,
      reaperIntervalMs: 10_000,
      leaderRetryMs: 5_000,
      workerId: undefined,
    },
    silentLog,
  );
  await runtime.start();
});

afterAll(async () => {
  await runtime?.stop();
  await services?.close();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const aliceIds = async () =>
  (
    await db.db
      .selectFrom('messages')
      .select('external_id')
      .where('instance_id', '=', id)
      .where('chat_external_id', '=', ALICE)
      .execute()
  )
    .map((r) => r.external_id)
    .sort();

const catchups = () =>
  db.db
    .selectFrom('sync_jobs')
    .select(['id', 'status'])
    .where('instance_id', '=', id)
    .where('type', '=', 'catchup')
    .orderBy('created_at')
    .execute();

const waitForJob = (jobId: string) =>
  until(async () => {
    const job = await services.jobs.getJob(jobId);
    return ['completed', 'failed', 'cancelled'].includes(job.status) ? job : null;
  }, 50);

test('a socket reconnect queues one catch-up that fills the day it was down exactly; live messages then extend the ledger with the edge `live`', async () => {
  const whatsapp = services.whatsapp!;
  // Off while the history is first synced (so no catch-up races the first sync), on for the outage.
  await services.settings.update({ 'sync.catchup.enabled': false });
  expect((await whatsapp.connect(instanceId(id))).status).toBe('open');
  await whatsapp.flush(instanceId(id));

  // History up to T0, as if the last sync ran a day ago.
  const { job: first } = await services.jobs.createJob(id, 'messages', {
    depth: '7d',
    until: new Date(T0 * 1000).toISOString(),
  });
  await services.queue.dispatch({ jobId: first.id, instanceId: id });
  expect((await waitForJob(first.id)).status).toBe('completed');
  const since = T0 * 1000 - 7 * DAY * 1000;
  const expectedBefore = before.filter((m) => Number(m.messageTimestamp) * 1000 >= since);
  expect(await aliceIds()).toEqual(expectedBefore.map((m) => String(m.key?.id)).sort());
  expect(await catchups()).toEqual([]);
  await services.settings.update({ 'sync.catchup.enabled': true });

  // The socket drops; the day's messages reach the phone; the server keeps the newest 40 for the device.
  scenario.pushOnOpen = false;
  const sockets = fake.sockets.length;
  fake.last!.drop(428);
  scenario.chats[0]!.messages.push(...day);
  scenario.offlineQueue = day.slice(0, 40);
  await until(
    () => fake.sockets.length > sockets && whatsapp.connectionState(instanceId(id)).status === 'open',
  );

  const [healing, ...more] = await until(async () => {
    const jobs = await catchups();
    return jobs.length > 0 ? jobs : null;
  });
  expect(more).toEqual([]);
  const healed = await waitForJob(healing!.id);
  expect(healed.status).toBe('completed');
  // Exactly the platform's set: the 40 delivered, the 80 paged back to T0 on demand, nothing lost.
  expect(await aliceIds()).toEqual([...expectedBefore, ...day].map((m) => String(m.key?.id)).sort());
  const asked = fake.last!.historyRequests;
  expect(asked.length).toBeGreaterThan(0);
  for (const r of asked) expect(r.timestampMs).toBeGreaterThanOrEqual(T0 * 1000);
  const ledger = (await readCoverage(db.db, id)).get(ALICE) ?? [];
  expect(ledger).toHaveLength(1);
  // Alice's history begins inside the 7d window: covered from the beginning.
  expect(ledger[0]).toMatchObject({ from: 0, fromReason: 'exhausted' });
  const caughtUpTo = ledger[0]!.to;
  expect(caughtUpTo).toBeGreaterThan(NOW * 1000);
  expect(ledger[0]!.toReason).toBe('depth');

  // A message delivered late (`append`) proves nothing about what came before it: no extension.
  const now = Math.ceil(Date.now() / 1000);
  fake.last!.emitLiveMessages(
    [waMessages.text({ id: 'LATE1', chat: ALICE, timestamp: now + 1, pushName: 'Alice' }, 'late')],
    'append',
  );
  await whatsapp.flush(instanceId(id));
  expect((await readCoverage(db.db, id)).get(ALICE)).toEqual(ledger);
  // A message received live on a socket open since before the covered end extends it: edge `live`.
  fake.last!.emitLiveMessages([
    waMessages.text({ id: 'LIVE1', chat: ALICE, timestamp: now + 2, pushName: 'Alice' }, 'live'),
  ]);
  await whatsapp.flush(instanceId(id));
  const extended = (await readCoverage(db.db, id)).get(ALICE) ?? [];
  expect(extended).toEqual([{ ...ledger[0]!, to: (now + 2) * 1000 + 1, toReason: 'live' }]);
  const report = await buildCoverageReport(db.db, id, { depth: '7d', until: (now + 3) * 1000 });
  const alice = report.chats.find((c) => c.chatId === ALICE)!;
  expect(alice.live).toBe(true);
  expect(alice.gaps).toEqual([]);
  expect(report.summary.live).toBe(1);
});

test('a reconnect storm queues one pending catch-up per instance', async () => {
  // No worker consumes now: every request finds the same pending job.
  await runtime?.stop();
  runtime = null;
  const ids = await Promise.all(Array.from({ length: 5 }, () => services.catchup.request(id, 'reconnect')));
  ids.push(await services.catchup.request(id, 'reconnect'));
  expect(new Set(ids).size).toBe(1);
  expect(ids[0]).not.toBeNull();
  const pending = (await catchups()).filter((j) => j.status === 'pending');
  expect(pending.map((j) => j.id)).toEqual([ids[0]!]);
  // The same through the socket: drop and reopen three times, still one pending job.
  for (let i = 0; i < 3; i++) {
    const sockets = fake.sockets.length;
    fake.last!.drop(428);
    await until(
      () =>
        fake.sockets.length > sockets && services.whatsapp!.connectionState(instanceId(id)).status === 'open',
    );
  }
  await services.whatsapp!.flush(instanceId(id));
  const after = (await catchups()).filter((j) => j.status === 'pending');
  expect(after.map((j) => j.id)).toEqual([ids[0]!]);
});
