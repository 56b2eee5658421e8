import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import type { Subprocess } from 'bun';

/**
 * `GET /metrics` of the real start command (main.ts: its services, its embedded worker) after a
 * Discord sync with media on the fake: the counters equal the job's progress and the fake's counts.
 */
const API_KEY = 'metrics-test-key';
const METRICS_TOKEN = 'scraper-token';
const dataDir = mkdtempSync(join(tmpdir(), 'omni-metrics-'));
let fake: FakeDiscord;
let db: TestDb;
let proc: Subprocess<'ignore', 'inherit', 'inherit'> | null = null;
let base = '';

beforeAll(async () => {
  fake = await FakeDiscord.start({
    data: mixedScenario({ scale: 0.2 }),
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
  });
  db = await createTestDb('postgres', { migrate: false });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  base = `http://127.0.0.1:${port}`;
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    API_KEY,
    METRICS_TOKEN,
    LOG_LEVEL: 'warn',
    DISCORD_API_URL: fake.apiUrl,
    DISCORD_HISTORY_REQUESTS_PER_WINDOW: '1000',
    DISCORD_HISTORY_WINDOW_MS: '1000',
    MEDIA_ALLOW_ORIGINS: new URL(fake.apiUrl).origin,
    MEDIA_STORAGE_PATH: join(dataDir, 'media'),
    SYNC_DISCORD_MESSAGES_PER_MINUTE: '60000',
    SYNC_DISCORD_CONTACTS_PER_MINUTE: '60000',
  };
  delete env.NATS_URL;
  proc = Bun.spawn(['bun', 'run', join(import.meta.dir, '../../src/main.ts')], {
    env,
    stdout: 'inherit',
    stderr: 'inherit',
  });
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/api/v2/ready`).catch(() => null);
    if (ready?.status === 200) break;
    if (proc.exitCode !== null || i > 600) throw new Error('the API did not come up');
    await Bun.sleep(100);
  }
}, 90_000);

afterAll(async () => {
  if (proc) {
    proc.kill('SIGTERM');
    await proc.exited;
  }
  await fake?.stop();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const call = async (method: string, path: string, body?: object) => {
  const res = await fetch(`${base}/api/v2${path}`, {
    method,
    headers: { 'x-api-key': API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as { data: Record<string, unknown> } };
};

/** The value of one series of a Prometheus text answer (0 when absent). */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

test('after a sync, /metrics counts what the job progress and the fake counted', async () => {
  const created = await call('POST', '/instances', { name: 'metrics', channel: 'discord' });
  const id = created.json.data.id as string;
  expect((await call('POST', `/instances/${id}/connect`, { token: fake.token })).status).toBe(200);
  expect((await call('PATCH', `/instances/${id}`, { downloadMediaOnSync: true })).status).toBe(200);
  fake.stats.reset(); // from here on, every request the fake sees is the sync's
  const started = await call('POST', `/instances/${id}/sync`, { type: 'messages', depth: 'all' });
  expect(started.status).toBe(202);
  const jobId = started.json.data.jobId as string;
  let job: Record<string, unknown> = {};
  for (;;) {
    job = (await call('GET', `/instances/${id}/sync/${jobId}`)).json.data;
    if (['completed', 'failed', 'cancelled'].includes(job.status as string)) break;
    await Bun.sleep(100);
  }
  expect(job.status).toBe('completed');
  const progress = job.progress as Record<string, number>;
  expect(progress.stored).toBeGreaterThan(0);
  expect(progress.mediaDownloaded).toBeGreaterThan(0);

  // Without the key or the token: refused. With the scraper's bearer token: the text format.
  expect((await fetch(`${base}/metrics`)).status).toBe(401);
  // The job row turns `completed` inside the run; the worker records the run's end (duration, media)
  // just after the run returns, so scrape until that record is there.
  let text = '';
  for (let i = 0; i < 100; i++) {
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toContain('text/plain');
    text = await scraped.text();
    if (series(text, 'omni_job_duration_seconds_count', { type: 'messages' }) > 0) break;
    await Bun.sleep(100);
  }

  const discord = { channel: 'discord' };
  for (const outcome of ['fetched', 'stored', 'duplicates', 'updated'] as const) {
    expect(series(text, 'omni_messages_total', { ...discord, outcome })).toBe(progress[outcome] as number);
  }
  expect(series(text, 'omni_media_files_total', { ...discord, outcome: 'downloaded' })).toBe(
    progress.mediaDownloaded as number,
  );
  expect(series(text, 'omni_media_bytes_total', discord)).toBe(progress.mediaBytes as number);
  const requests = (kind: string) => series(text, 'omni_platform_requests_total', { ...discord, kind });
  expect(requests('messages') + requests('contacts') + requests('profile')).toBe(fake.stats.requests);
  expect(requests('messages')).toBeGreaterThanOrEqual(fake.stats.route('GET /channels/:channel/messages'));
  expect(requests('media')).toBe(fake.stats.cdnRequests);
  expect(series(text, 'omni_platform_429_total', discord)).toBe(fake.stats.status429);
  expect(series(text, 'omni_job_duration_seconds_count', { type: 'messages', status: 'completed' })).toBe(1);
  expect(
    series(text, 'omni_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/api/v2/instances/:id/sync',
      status: '202',
    }),
  ).toBe(1);
  expect(text).toContain('omni_queue_pending');
  expect(text).toContain('omni_lease_takeovers_total');
}, 180_000);
