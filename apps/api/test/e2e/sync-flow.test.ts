import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createDiscordPlugin } from '@omni/channel-discord';
import type { WorkerRuntime } from '@omni/runtime';
import { MediaFetcher } from '@omni/sync-core';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { auth, createTestApp, startTestWorker, type TestApp } from '../helpers.ts';

let fake: FakeDiscord;
let t: TestApp;
let runtime: WorkerRuntime;
let instanceId: string;

beforeAll(async () => {
  fake = await FakeDiscord.start({
    data: mixedScenario({ scale: 0.3 }),
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
  });
  t = await createTestApp([
    createDiscordPlugin({ api: fake.apiUrl, historyRequestsPerWindow: 1000, historyWindowMs: 1000 }),
  ]);
  await t.deps.settings.update({
    'sync.discord.messagesPerMinute': 60_000,
    'sync.discord.contactsPerMinute': 60_000,
  });
  const _services = { ...t.deps, db: t.db };
  runtime = await startTestWorker(t, {
    // The fake serves attachments on 127.0.0.1: passed as `MEDIA_ALLOW_ORIGINS` would pass it.
    mediaFetcher: new MediaFetcher({ settings: t.deps.settings, allowOrigins: [fake.url] }),
  });
  instanceId = (
    await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: auth,
      payload: { name: 'e2e', channel: 'discord' },
    })
  ).json().data.id;
}, 60_000);
afterAll(async () => {
  await runtime.stop();
  await t.close();
  await fake.stop();
}, 60_000);

const api = (method: 'GET' | 'POST' | 'PATCH', path: string, payload?: object) =>
  t.app.inject({
    method,
    url: `/api/v2/instances/${instanceId}${path}`,
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    ...(payload ? { payload: JSON.stringify(payload) } : {}),
  });

async function waitForEnd(jobId: string) {
  for (;;) {
    const job = (await api('GET', `/sync/${jobId}`)).json().data;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectedIds(since: string | null, until: string): Set<string> {
  const ids = new Set<string>();
  for (const chat of fake.data.chats.filter((c) => c.readable)) {
    for (const id of fake.expectedIds(chat, since ? Date.parse(since) : null, Date.parse(until))) ids.add(id);
  }
  return ids;
}

test('connect, then 7d → 30d → all with media: exact counts, no duplicates stored, SSE ends on completion', async () => {
  expect((await api('POST', '/connect', { token: fake.token })).statusCode).toBe(200);
  expect((await api('PATCH', '', { downloadMediaOnSync: true })).json().data.downloadMediaOnSync).toBe(true);

  let before = new Set<string>();
  for (const depth of ['7d', '30d', 'all'] as const) {
    const created = await api('POST', '/sync', { type: 'messages', depth });
    expect(created.statusCode).toBe(202);
    const { jobId } = created.json().data;
    const sse = api('GET', `/sync/${jobId}/events`);
    const job = await waitForEnd(jobId);
    expect(job.status).toBe('completed');
    expect(job.progressPercent).toBe(100);
    const window = job.progress.window as { since: string | null; until: string };
    const expected = expectedIds(window.since, window.until);
    const newOnes = [...expected].filter((id) => !before.has(id));
    expect(job.progress.stored).toBe(newOnes.length);
    expect(job.progress.fetched).toBe(job.progress.stored + job.progress.duplicates + job.progress.updated);

    const rows = await t.db.db
      .selectFrom('messages')
      .select('external_id')
      .where('instance_id', '=', instanceId)
      .execute();
    const stored = new Set(rows.map((r) => r.external_id));
    expect(rows.length).toBe(stored.size);
    for (const id of expected) expect(stored.has(id)).toBe(true);
    before = stored;

    const events = [...(await sse).body.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(events.at(-1)).toBe('sync.completed');
  }

  const withMedia = await t.db.db
    .selectFrom('messages')
    .select(['media_local_path', 'media_mime_type'])
    .where('instance_id', '=', instanceId)
    .where('media_local_path', 'is not', null)
    .execute();
  expect(withMedia.length).toBeGreaterThan(0);
  const sample = withMedia[0]?.media_local_path as string;
  const file = await t.app.inject({
    url: `/api/v2/media/${sample}`,
    headers: { ...auth, range: 'bytes=0-9' },
  });
  expect(file.statusCode).toBe(206);
  expect(file.rawPayload.length).toBe(10);

  const list = (await api('GET', '/sync?limit=10')).json();
  expect(list.items.filter((j: { status: string }) => j.status === 'completed').length).toBe(3);
}, 60_000);
