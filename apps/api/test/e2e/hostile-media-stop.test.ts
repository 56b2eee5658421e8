import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { FakeDiscord } from '@omni/testkit/discord';
import { HostileMediaServer } from '@omni/testkit/hostile';
import type { Subprocess } from 'bun';

/**
 * A slow media URL must not stall the fleet: the production API process (`apps/api/src/main.ts`,
 * embedded worker, Postgres) syncs a Discord channel whose every attachment is a tarpit (headers,
 * then a byte every 200 ms, forever) with a 10-minute download deadline, so nothing but cancel
 * and shutdown can end the downloads. Cancel must be honoured within 15 s and SIGTERM within
 * 10 s, the tarpits' connections closed both times. The fake and the tarpits are reached through
 * `MEDIA_ALLOW_ORIGINS`, as documented.
 */

const MAIN = join(import.meta.dir, '../../src/main.ts');
const API_KEY = 'stop-test-key';

let fake: FakeDiscord;
let server: HostileMediaServer;
let db: TestDb;
let dataDir: string;
let proc: Subprocess | null = null;
let base = '';

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await Bun.sleep(50);
}

async function api<T = { data: Record<string, unknown> }>(method: string, path: string, body?: object) {
  const res = await fetch(`${base}/api/v2${path}`, {
    method,
    headers: { 'x-api-key': API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

function start(): void {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  base = `http://127.0.0.1:${port}`;
  proc = Bun.spawn(['bun', MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: db.url as string,
      NATS_URL: '',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      API_KEY,
      DISCORD_API_URL: fake.apiUrl,
      DISCORD_HISTORY_REQUESTS_PER_WINDOW: '1000',
      DISCORD_HISTORY_WINDOW_MS: '1000',
      SYNC_DISCORD_MESSAGES_PER_MINUTE: '600',
      MEDIA_ALLOW_ORIGINS: `${fake.url},${server.origin}`,
      MEDIA_DOWNLOAD_TIMEOUT_SECONDS: '600',
      WORKER_LEASE_MS: '3000',
      LOG_LEVEL: 'warn',
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
}

async function ready(): Promise<void> {
  for (;;) {
    const ok = await fetch(`${base}/api/v2/health`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(100);
  }
}

async function instanceWithTarpits(name: string): Promise<string> {
  const id = (await api('POST', '/instances', { name, channel: 'discord' })).body.data.id as string;
  expect((await api('POST', `/instances/${id}/connect`, { token: fake.token })).status).toBe(200);
  return id;
}

async function syncWithMedia(id: string): Promise<string> {
  const created = await api('POST', `/instances/${id}/sync`, {
    type: 'messages',
    depth: 'all',
    downloadMedia: true,
  });
  expect(created.status).toBe(202);
  return created.body.data.jobId as string;
}

async function jobOf(id: string, jobId: string) {
  return (await api('GET', `/instances/${id}/sync/${jobId}`)).body.data as {
    status: string;
    progress: { mediaFailed: number; mediaDownloaded: number };
  };
}

beforeAll(async () => {
  server = await HostileMediaServer.start({ tarpitIntervalMs: 200 });
  fake = await FakeDiscord.start({
    data: {
      nowMs: Date.now() - 1000,
      mix: {
        voice: 0,
        image: 1,
        pdf: 0,
        video: 0,
        audio: 0,
        sticker: 0,
        embed: 0,
        system: 0,
        reply: 0,
        edited: 0,
      },
      guilds: [{ name: 'slow', channels: [{ name: 'tarpits', messageCount: 8, historyDays: 1 }] }],
    },
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
    attachmentRewrite: (a, { n }) => ({
      ...a,
      url: `${server.origin}/tarpit?n=${n}`,
      proxy_url: '',
      size: 100,
    }),
  });
  db = await createTestDb('postgres', { migrate: false });
  dataDir = mkdtempSync(join(tmpdir(), 'omni-stop-'));
  start();
  await ready();
}, 60_000);

afterAll(async () => {
  proc?.kill('SIGKILL');
  await server?.stop();
  await fake?.stop();
  await db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('cancel aborts downloads in flight: the job is cancelled within 15 s, the instance syncs again', async () => {
  const id = await instanceWithTarpits('tarpits-cancel');
  const jobId = await syncWithMedia(id);
  await within(
    30_000,
    'the first tarpit download',
    until(() => server.openTarpits > 0),
  );
  expect((await api('POST', `/instances/${id}/sync/${jobId}/cancel`)).status).toBeLessThan(300);
  await within(
    15_000,
    'cancel',
    until(async () => (await jobOf(id, jobId)).status === 'cancelled'),
  );
  await within(
    5_000,
    'closing the tarpits',
    until(() => server.openTarpits === 0),
  );
  const next = await api('POST', `/instances/${id}/sync`, {
    type: 'messages',
    depth: 'all',
    downloadMedia: false,
  });
  expect(next.status).toBe(202);
  await within(
    30_000,
    'the next job',
    until(async () => (await jobOf(id, next.body.data.jobId as string)).status === 'completed'),
  );
}, 120_000);

test('SIGTERM stops the process within 10 s while downloads hang on tarpits', async () => {
  const id = await instanceWithTarpits('tarpits-sigterm');
  await syncWithMedia(id);
  await within(
    30_000,
    'the first tarpit download',
    until(() => server.openTarpits > 0),
  );
  const running = proc as Subprocess;
  running.kill('SIGTERM');
  expect(await within(10_000, 'SIGTERM', running.exited)).toBe(0);
  proc = null;
  await within(
    5_000,
    'closing the tarpits',
    until(() => server.openTarpits === 0),
  );
}, 120_000);
