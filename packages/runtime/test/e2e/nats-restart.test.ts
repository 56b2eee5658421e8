import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createDiscordPlugin } from '@omni/channel-discord';
import { CredentialCipher, SettingsService } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { JobRepository, PluginRegistry } from '@omni/sync-core';
import { FakeDiscord } from '@omni/testkit/discord';
import type { Subprocess } from 'bun';
import { NatsEventBus } from '../../src/events/nats-event-bus.ts';
import { ProfileSyncService } from '../../src/profile/profile-sync-service.ts';
import { NatsJobQueue } from '../../src/queue/nats/nats-queue.ts';
import { createSyncRunner } from '../../src/runtime/create-runner.ts';
import { WorkerRuntime } from '../../src/runtime/worker-runtime.ts';
import { SingleProcessLock } from '../../src/scheduler/leader-lock.ts';
import { RunnerExecutor } from '../../src/worker/runner-executor.ts';
import { insertInstance, natsNames, silentLog, until } from '../helpers.ts';

/** A private nats-server (file storage), so this test may restart it; the shared one is left alone. */
const natsBinary = Bun.which('nats-server');
const port = 21_000 + Math.floor(Math.random() * 20_000);
const storeDir = mkdtempSync(join(tmpdir(), 'omni-nats-'));
let server: Subprocess | null = null;

async function startServer(): Promise<void> {
  server = Bun.spawn([natsBinary as string, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
    stdout: 'ignore',
    stderr: 'ignore',
  });
  await until(async () => {
    try {
      const probe = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
      await probe.close();
      return true;
    } catch {
      return false;
    }
  }, 50);
}

let fake: FakeDiscord;
let db: TestDb;
let nc: NatsConnection;
let runtime: WorkerRuntime;
let jobs: JobRepository;
let queue: NatsJobQueue;

beforeAll(async () => {
  if (!natsBinary) return;
  await startServer();
  fake = await FakeDiscord.start({
    data: {
      seed: 9,
      guilds: [{ name: 'G', channels: [{ name: 'long', messageCount: 1000, historyDays: 10 }] }],
    },
    latencyMs: 10,
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
  });
  db = await createTestDb('postgres');
  nc = await connect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const names = natsNames();
  queue = new NatsJobQueue(nc, { ...names, ackWaitMs: 5_000 });
  const settings = new SettingsService(db.db, { env: {}, cacheTtlMs: 0 });
  await settings.update({ 'sync.discord.messagesPerMinute': 60_000 });
  const cipher = new CredentialCipher(Buffer.alloc(32, 1));
  const plugins = new PluginRegistry([
    createDiscordPlugin({
      api: fake.apiUrl,
      historyRequestsPerWindow: 1000,
      historyWindowMs: 1000,
      pageSize: 20,
    }),
  ]);
  jobs = new JobRepository(db.db);
  const events = new NatsEventBus(nc, names.eventPrefix);
  const profiles = new ProfileSyncService(db.db, cipher, plugins, silentLog);
  const runner = createSyncRunner({ db, settings, plugins, cipher, events, jobs }, silentLog, {
    leaseMs: 3_000,
  });
  runtime = new WorkerRuntime(
    {
      db: db.db,
      settings,
      jobs,
      queue,
      profiles,
      plugins,
      executor: new RunnerExecutor(runner),
      lock: new SingleProcessLock(),
      log: silentLog,
    },
    { worker: { leaseMs: 3_000 }, reaper: { intervalMs: 300, stalePendingMs: 1_000 } },
  );
  await runtime.start();
}, 60_000);

afterAll(async () => {
  if (!natsBinary) return;
  await runtime.stop();
  await queue.destroy().catch(() => {});
  await nc.close();
  server?.kill('SIGKILL');
  await server?.exited;
  await db.close();
  await fake.stop();
  rmSync(storeDir, { recursive: true, force: true });
}, 60_000);

test.skipIf(!natsBinary)(
  'NATS restarted mid-job: the job completes with exact counts and the queue keeps working',
  async () => {
    const instanceId = await insertInstance(db.db);
    const token = new CredentialCipher(Buffer.alloc(32, 1)).encryptJson({ token: fake.token }, instanceId);
    await db.db.updateTable('instances').set({ credentials: token }).where('id', '=', instanceId).execute();
    const { job } = await jobs.createJob(instanceId, 'messages', { depth: 'all' });
    await queue.dispatch({ jobId: job.id, instanceId });
    await until(async () => Number((await jobs.getJob(job.id)).progress.stored ?? 0) >= 100);

    server?.kill('SIGTERM');
    await server?.exited;
    await new Promise((r) => setTimeout(r, 300));
    await startServer();

    const done = await until(async () => {
      const row = await jobs.getJob(job.id);
      return row.status === 'completed' ? row : null;
    });
    expect(done.progress.stored).toBe(1000);
    expect(done.progress.duplicates).toBe(0);
    const rows = await db.db
      .selectFrom('messages')
      .select('id')
      .where('instance_id', '=', instanceId)
      .execute();
    expect(rows.length).toBe(1000);

    const second = await jobs.createJob(instanceId, 'profile', {});
    await queue.dispatch({ jobId: second.job.id, instanceId });
    const profileJob = await until(async () => {
      const row = await jobs.getJob(second.job.id);
      return row.status === 'completed' ? row : null;
    });
    expect(profileJob.status).toBe('completed');
  },
  60_000,
);
