import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscordPlugin } from '@omni/channel-discord';
import { loadCredentialCipher, type SyncJob } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { instanceId, PostgresAuthStateStore, SessionLeaseStore, type SyncJobConfig } from '@omni/sync-core';
import { FakeDiscord } from '@omni/testkit/discord';
import {
  createFakeSocketFactory,
  type FakeSocketFactory,
  type FakeWhatsAppScenario,
  generateTextHistory,
} from '@omni/testkit/whatsapp';
import type { JobTicket } from '../../src/queue/job-queue.ts';
import { NatsJobQueue } from '../../src/queue/nats/nats-queue.ts';
import { createSyncRunner } from '../../src/runtime/create-runner.ts';
import { openServices, type Services } from '../../src/runtime/open-services.ts';
import { WorkerRuntime } from '../../src/runtime/worker-runtime.ts';
import type { JobPlacement } from '../../src/worker/job-placement.ts';
import { RunnerExecutor } from '../../src/worker/runner-executor.ts';
import { NATS_URL, natsNames, silentLog, until } from '../helpers.ts';

/**
 * Two sync-workers over one Postgres database and one JetStream stream, each with the WhatsApp
 * session host on the testkit's fake socket: WhatsApp jobs run only where the session is held.
 */

const NOW = Math.floor(Date.now() / 1000) - 60;
const HOUR = 3_600;
const ME = { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const BOB = '15550002222@s.whatsapp.net';
const scenario: FakeWhatsAppScenario = {
  me: ME,
  linked: true,
  chats: [
    {
      jid: ALICE,
      name: 'Alice',
      messages: generateTextHistory({ chat: ALICE, count: 120, newest: NOW, spacing: HOUR, idPrefix: 'A' }),
    },
    {
      jid: BOB,
      name: 'Bob',
      messages: generateTextHistory({ chat: BOB, count: 40, newest: NOW, spacing: 2 * HOUR, idPrefix: 'B' }),
    },
  ],
  // The push brings the last day; the rest only comes through the jobs' on-demand requests.
  bootstrapSince: NOW - 24 * HOUR,
};
const allWhatsAppIds = scenario.chats.flatMap((c) => c.messages.map((m) => String(m.key?.id))).sort();

const names = { ...natsNames(), whatsappPrefix: `t.${randomBytes(4).toString('hex')}.wa` };

interface Run {
  worker: string;
  jobId: string;
  instanceId: string;
}

interface TestWorker {
  name: string;
  services: Services;
  fake: FakeSocketFactory;
  runtime: WorkerRuntime | null;
  /** Tickets this worker's placement turned away. */
  declined: JobTicket[];
}

let db: TestDb;
let dataDir: string;
let discord: FakeDiscord;
const runs: Run[] = [];
const workers = new Map<string, TestWorker>();
const waInstances: string[] = [];
let discordInstance = '';

async function openWorker(name: string): Promise<TestWorker> {
  const fake = createFakeSocketFactory(scenario);
  const services = await openServices({
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    dataDir,
    name: `route-${name}`,
    plugins: [
      createDiscordPlugin({
        api: discord.apiUrl,
        historyRequestsPerWindow: 1000,
        historyWindowMs: 1000,
        pageSize: 50,
      }),
    ],
    log: silentLog,
    nats: names,
    whatsapp: { socketFactory: fake.factory, owner: name, leaseMs: 1_500, renewMs: 250 },
  });
  const worker: TestWorker = { name, services, fake, runtime: null, declined: [] };
  workers.set(name, worker);
  return worker;
}

/** Starts consuming jobs (a new runtime each time: a stopped one does not restart). */
async function startRuntime(worker: TestWorker): Promise<void> {
  const { services } = worker;
  const runner = new RunnerExecutor(createSyncRunner(services, silentLog, { leaseMs: 3_000 }));
  const inner = services.placement as JobPlacement;
  const placement: JobPlacement = {
    canRun: async (ticket) => {
      const ok = await inner.canRun(ticket);
      if (!ok) worker.declined.push(ticket);
      return ok;
    },
  };
  worker.runtime = new WorkerRuntime(
    {
      db: services.db.db,
      settings: services.settings,
      jobs: services.jobs,
      queue: services.queue,
      profiles: services.profiles,
      plugins: services.plugins,
      executor: {
        execute: (job: SyncJob, ctx) => {
          runs.push({ worker: worker.name, jobId: job.id, instanceId: job.instance_id });
          return runner.execute(job, ctx);
        },
      },
      lock: services.lock,
      log: silentLog,
      placement,
    },
    {
      worker: {
        id: worker.name,
        concurrency: 4,
        leaseMs: 3_000,
        placementRetryMs: 100,
        placementRetryMaxMs: 400,
      },
      reaper: { intervalMs: 300, stalePendingMs: 2_000 },
      leaderRetryMs: 300,
    },
  );
  await worker.runtime.start();
}

async function stopRuntime(worker: TestWorker): Promise<void> {
  await worker.runtime?.stop();
  worker.runtime = null;
}

const worker = (name: string): TestWorker => workers.get(name) as TestWorker;
/** Services of a worker still alive, for the test's own reads and dispatches. */
const live = (): Services => ([...workers.values()][0] as TestWorker).services;

async function createJob(
  instanceId: string,
  type: SyncJob['type'],
  config: SyncJobConfig = {},
): Promise<string> {
  const services = live();
  const { job, created } = await services.jobs.createJob(instanceId, type, config);
  expect(created).toBe(true);
  await services.queue.dispatch({ jobId: job.id, instanceId });
  return job.id;
}

async function jobOf(id: string): Promise<SyncJob> {
  return live().jobs.getJob(id);
}

async function allFinished(ids: string[]): Promise<SyncJob[]> {
  return until(async () => {
    const rows = await Promise.all(ids.map(jobOf));
    return rows.every((j) => ['completed', 'failed', 'cancelled'].includes(j.status)) ? rows : null;
  }, 50);
}

async function storedIds(instanceId: string): Promise<string[]> {
  const rows = await db.db
    .selectFrom('messages')
    .select('external_id')
    .where('instance_id', '=', instanceId)
    .execute();
  return rows.map((r) => r.external_id).sort();
}

beforeAll(async () => {
  db = await createTestDb('postgres');
  dataDir = mkdtempSync(join(tmpdir(), 'omni-route-'));
  discord = await FakeDiscord.start({
    data: {
      seed: 7,
      guilds: [{ name: 'G', channels: [{ name: 'general', messageCount: 60, historyDays: 5 }] }],
    },
  });
  const { cipher } = loadCredentialCipher({ dataDir });
  const auth = new PostgresAuthStateStore(db.db, cipher);
  for (let i = 0; i < 3; i++) {
    const { id } = await db.db
      .insertInto('instances')
      .values({ name: `wa-${i}`, channel: 'whatsapp-baileys', connection_state: 'open' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await auth.write(id, new Map([['creds', '{"registered":true}']]));
    waInstances.push(id);
  }
  const discordId = crypto.randomUUID();
  const { id } = await db.db
    .insertInto('instances')
    .values({
      id: discordId,
      name: 'discord',
      channel: 'discord',
      credentials: cipher.encryptJson({ token: discord.token }, discordId),
      connection_state: 'open',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  discordInstance = id;

  // Worker A starts first and takes every stored session; B finds them held.
  const a = await openWorker('a');
  await a.services.settings.update({
    'sync.whatsapp.messagesPerMinute': 600,
    'sync.discord.messagesPerMinute': 60_000,
  });
  await until(() => a.services.whatsappHost?.heldInstanceIds.length === waInstances.length);
  await until(() => a.fake.sockets.length === waInstances.length && a.fake.sockets.every((s) => s.user));
  for (const id of waInstances) await a.services.whatsapp?.flush(instanceId(id));
  await openWorker('b');
}, 120_000);

afterAll(async () => {
  for (const w of workers.values()) {
    await w.runtime?.stop().catch(() => {});
    await w.services.close().catch(() => {});
  }
  const probe = await openServices({
    databaseUrl: db.url,
    natsUrl: NATS_URL,
    dataDir,
    name: 'route-cleanup',
    plugins: [],
    log: silentLog,
    nats: names,
  }).catch(() => null);
  if (probe?.queue instanceof NatsJobQueue) await probe.queue.destroy().catch(() => {});
  await probe?.close();
  await db?.close();
  await discord?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('WhatsApp jobs run only on the worker holding the session; the other gives their tickets back', async () => {
  const a = worker('a');
  const b = worker('b');
  const leases = new SessionLeaseStore(db.db);
  for (const id of waInstances) expect((await leases.get(id))?.owner).toBe('a');
  expect(b.services.whatsappHost?.heldInstanceIds).toEqual([]);

  // Only B consumes at first: it must turn every WhatsApp ticket away, and still run Discord.
  await startRuntime(b);
  const waJobs: string[] = [];
  for (const id of waInstances) {
    for (const depth of ['30d', '90d', '1y'] as const)
      waJobs.push(await createJob(id, 'messages', { depth }));
    waJobs.push(await createJob(id, 'contacts'));
  }
  const discordJob = await createJob(discordInstance, 'messages', { depth: '30d' });
  const [discordDone] = await allFinished([discordJob]);
  expect(discordDone?.status).toBe('completed');
  expect(runs.find((r) => r.jobId === discordJob)?.worker).toBe('b');
  const waRunsOn = (name: string) =>
    runs.filter((r) => r.worker === name && waInstances.includes(r.instanceId));
  await until(
    () => waRunsOn('b').length > 0 || waJobs.every((jobId) => b.declined.some((t) => t.jobId === jobId)),
  );
  expect(waRunsOn('b')).toEqual([]);
  for (const jobId of waJobs) {
    const job = await jobOf(jobId);
    expect(job.status).toBe('pending');
    expect(job.attempts).toBe(0);
  }

  // A starts consuming: every WhatsApp job runs there, none on B.
  await startRuntime(a);
  const done = await allFinished(waJobs);
  expect(done.map((j) => j.status)).toEqual(waJobs.map(() => 'completed'));
  expect(waRunsOn('b')).toEqual([]);
  expect(waRunsOn('a').length).toBeGreaterThanOrEqual(waJobs.length);
  expect(b.fake.sockets).toHaveLength(0);
  expect(a.fake.sockets).toHaveLength(waInstances.length);
  for (const id of waInstances) expect(await storedIds(id)).toEqual(allWhatsAppIds);
  // The older messages came through on-demand requests on A's sockets (not only the push).
  expect(a.fake.sockets.every((s) => s.historyRequests.length > 0)).toBe(true);

  // A Discord job runs on A as well.
  await stopRuntime(b);
  const onA = await createJob(discordInstance, 'messages', { depth: '90d' });
  expect((await allFinished([onA]))[0]?.status).toBe('completed');
  expect(runs.find((r) => r.jobId === onA)?.worker).toBe('a');
}, 60_000);

test('when the holder dies, its lease runs out and the other worker takes the session and the job over', async () => {
  const a = worker('a');
  const b = worker('b');
  await startRuntime(b);
  const [id] = waInstances as [string];
  // A dies: it stops renewing, its sockets go, its leases are left to expire.
  await stopRuntime(a);
  await a.services.whatsappHost?.stop({ handOver: false });
  await a.services.close();
  workers.delete('a');
  const jobId = await createJob(id, 'messages', { depth: '90d' });
  const [job] = await allFinished([jobId]);
  expect(job?.status).toBe('completed');
  expect(runs.filter((r) => r.jobId === jobId).map((r) => r.worker)).toEqual(['b']);
  expect((await new SessionLeaseStore(db.db).get(id))?.owner).toBe('b');
  expect(b.fake.sockets.length).toBeGreaterThanOrEqual(1);
  expect(await storedIds(id)).toEqual(allWhatsAppIds);
}, 60_000);
