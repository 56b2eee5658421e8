import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import type { Subprocess } from 'bun';

/**
 * SIGTERM of the real `main.ts` (embedded default: PGlite, in-process worker, WhatsApp on Baileys)
 * in each state it can be in: the process must exit 0 within 10 s. The WhatsApp states use the
 * real Baileys socket factory: with no route to WhatsApp the session keeps connecting (reconnect
 * timers pending), which is the state to stop in.
 */

const KEY = 'shutdown-test-key';
const EXIT_BOUND_MS = 10_000;
const dirs: string[] = [];
let fake: FakeDiscord;

beforeAll(async () => {
  fake = await FakeDiscord.start({ data: mixedScenario({ scale: 0.2 }) });
}, 60_000);
afterAll(async () => {
  await fake?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Main {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>;
  call(method: 'GET' | 'POST', path: string, body?: object): Promise<Response>;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies of the API, read field by field
const json = (res: Response): Promise<any> => res.json();

async function startMain(): Promise<Main> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omni-shutdown-'));
  dirs.push(dataDir);
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    API_KEY: KEY,
    DISCORD_API_URL: fake.apiUrl,
    // One history page a minute: a job stays running until it is stopped.
    DISCORD_HISTORY_REQUESTS_PER_WINDOW: '1',
    DISCORD_HISTORY_WINDOW_MS: '60000',
  };
  delete env.DATABASE_URL;
  delete env.NATS_URL;
  delete env.OMNI_SECRET_KEY;
  const proc = Bun.spawn(['bun', 'run', join(import.meta.dir, '../src/main.ts')], {
    env,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const base = `http://127.0.0.1:${port}/api/v2`;
  const call = (method: 'GET' | 'POST', path: string, body?: object) =>
    fetch(`${base}${path}`, {
      method,
      headers: { 'x-api-key': KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`main.ts exited early (${proc.exitCode})`);
    const up = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { proc, call };
    await Bun.sleep(100);
  }
}

/** Sends SIGTERM; resolves with the exit code, or `'still running'` after the bound (then kills it). */
async function terminate(main: Main): Promise<number | 'still running'> {
  main.proc.kill('SIGTERM');
  const bound = Bun.sleep(EXIT_BOUND_MS).then(() => 'still running' as const);
  const outcome = await Promise.race([main.proc.exited, bound]);
  if (outcome === 'still running') {
    main.proc.kill('SIGKILL');
    await main.proc.exited;
  }
  return outcome;
}

async function whatsappInstance(main: Main): Promise<string> {
  const res = await main.call('POST', '/instances', {
    name: `wa-${Date.now()}`,
    channel: 'whatsapp-baileys',
  });
  expect(res.status).toBe(201);
  return (await json(res)).data.id;
}

test('SIGTERM when idle: exits 0 within 10 s', async () => {
  const main = await startMain();
  expect(await terminate(main)).toBe(0);
}, 120_000);

test('SIGTERM after a WhatsApp status and QR were read (no session opened): exits 0 within 10 s', async () => {
  const main = await startMain();
  const id = await whatsappInstance(main);
  expect((await main.call('GET', `/instances/${id}/status`)).status).toBe(200);
  expect((await main.call('GET', `/instances/${id}/qr`)).status).toBe(200);
  expect(await terminate(main)).toBe(0);
}, 120_000);

test('SIGTERM with a WhatsApp session opened (socket connecting): exits 0 within 10 s', async () => {
  const main = await startMain();
  const id = await whatsappInstance(main);
  // The connect answers once the socket settles; SIGTERM comes while it is still connecting.
  const connecting = main.call('POST', `/instances/${id}/connect`).catch(() => null);
  for (;;) {
    const status = (await json(await main.call('GET', `/instances/${id}/status`))).data;
    if (status.state !== 'disconnected') break;
    await Bun.sleep(100);
  }
  expect(await terminate(main)).toBe(0);
  await connecting;
}, 120_000);

test('SIGTERM with a sync job running: exits 0 within 10 s', async () => {
  const main = await startMain();
  const created = await main.call('POST', '/instances', { name: 'discord', channel: 'discord' });
  const id = (await json(created)).data.id;
  expect((await main.call('POST', `/instances/${id}/connect`, { token: fake.token })).status).toBe(200);
  const sync = await main.call('POST', `/instances/${id}/sync`, { type: 'messages', depth: 'all' });
  expect(sync.status).toBe(202);
  const jobId = (await json(sync)).data.jobId;
  for (;;) {
    const job = (await json(await main.call('GET', `/instances/${id}/sync/${jobId}`))).data;
    if (job.status === 'running' && job.progress.fetched > 0) break;
    expect(job.status).toBe(job.status === 'pending' ? 'pending' : 'running');
    await Bun.sleep(100);
  }
  expect(await terminate(main)).toBe(0);
}, 120_000);
