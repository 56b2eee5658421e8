import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createDiscordPlugin } from '@omni/channel-discord';
import type { WorkerRuntime } from '@omni/runtime';
import { FakeDiscord } from '@omni/testkit/discord';
import { auth, createTestApp, startTestWorker, type TestApp } from '../helpers.ts';

let fake: FakeDiscord;
let t: TestApp;
let runtime: WorkerRuntime;

beforeAll(async () => {
  fake = await FakeDiscord.start({
    data: {
      seed: 5,
      guilds: [{ name: 'G', channels: [{ name: 'long', messageCount: 1200, historyDays: 10 }] }],
    },
    latencyMs: 10,
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
  });
  t = await createTestApp([
    createDiscordPlugin({
      api: fake.apiUrl,
      historyRequestsPerWindow: 1000,
      historyWindowMs: 1000,
      pageSize: 20,
    }),
  ]);
  await t.deps.settings.update({ 'sync.discord.messagesPerMinute': 60_000 });
  runtime = await startTestWorker(t, { leaseMs: 3_000 });
}, 60_000);
afterAll(async () => {
  await runtime.stop();
  await t.close();
  await fake.stop();
}, 60_000);

test('cancel a running job between batches, then resume it from its checkpoint to exact totals', async () => {
  const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
    t.app.inject({ method, url: `/api/v2${url}`, headers: auth, ...(payload ? { payload } : {}) });
  const { id } = (await call('POST', '/instances', { name: 'cr', channel: 'discord' })).json().data;
  await call('POST', `/instances/${id}/connect`, { token: fake.token });
  const { jobId } = (await call('POST', `/instances/${id}/sync`, { type: 'messages', depth: 'all' })).json()
    .data;
  const readJob = async () => (await call('GET', `/instances/${id}/sync/${jobId}`)).json().data;

  for (;;) {
    const job = await readJob();
    if (job.status === 'running' && job.progress.stored >= 100) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const sse = call('GET', `/instances/${id}/sync/${jobId}/events`);
  expect((await call('POST', `/instances/${id}/sync/${jobId}/cancel`)).statusCode).toBe(200);
  let job = await readJob();
  while (job.status !== 'cancelled') {
    expect(job.status).toBe('running');
    await new Promise((r) => setTimeout(r, 20));
    job = await readJob();
  }
  const atCancel = job.progress.stored;
  expect(atCancel).toBeLessThan(1200);
  const rows = await t.db.db.selectFrom('messages').select('id').where('instance_id', '=', id).execute();
  expect(rows.length).toBe(atCancel);
  const events = [...(await sse).body.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
  expect(events.at(-1)).toBe('sync.cancelled');

  const resumed = await call('POST', `/instances/${id}/sync/${jobId}/resume`);
  expect(resumed.statusCode).toBe(202);
  do {
    await new Promise((r) => setTimeout(r, 30));
    job = await readJob();
  } while (job.status === 'pending' || job.status === 'running');
  expect(job.status).toBe('completed');
  expect(job.progress.stored).toBe(1200);
  expect(job.progress.duplicates).toBe(0);
  const all = await t.db.db
    .selectFrom('messages')
    .select('external_id')
    .where('instance_id', '=', id)
    .execute();
  const chat = fake.data.chats[0];
  if (!chat) throw new Error('no chat');
  expect(new Set(all.map((r) => r.external_id))).toEqual(
    new Set(fake.expectedIds(chat, null, Date.parse(job.progress.window.until))),
  );
}, 60_000);
