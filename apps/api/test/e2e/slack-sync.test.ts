import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createSlackPlugin } from '@omni/channel-slack';
import type { WorkerRuntime } from '@omni/runtime';
import { MediaFetcher } from '@omni/sync-core';
import { FakeSlack } from '@omni/testkit/slack';
import { auth, createTestApp, startTestWorker, type TestApp } from '../helpers.ts';

const WINDOW_MS = 300;
let fake: FakeSlack;
let t: TestApp;
let runtime: WorkerRuntime;
let instanceId: string;

beforeAll(async () => {
  fake = await FakeSlack.start({
    data: {
      seed: 3,
      channels: [
        {
          name: 'general',
          messageCount: 400,
          threadEvery: 8,
          repliesPerThread: 4,
          fileEvery: 9,
          editEvery: 6,
          tombstoneEvery: 4,
          changeEvery: 11,
        },
        { name: 'random', messageCount: 50, member: false },
        { name: 'secret', type: 'private_channel', messageCount: 60 },
        { name: 'old', messageCount: 30, archived: true },
        { name: 'dm', type: 'im', messageCount: 20, threadEvery: 0 },
      ],
    },
    tierWindowMs: WINDOW_MS,
  });
  t = await createTestApp([
    createSlackPlugin({
      apiUrl: fake.apiUrl,
      tierWindowMs: WINDOW_MS,
      pacingMarginMs: 5,
      historyPageSize: 50,
      repliesPageSize: 3,
    }),
  ]);
  await t.deps.settings.update({
    'sync.slack.messagesPerMinute': 60_000,
    'sync.slack.contactsPerMinute': 60_000,
  });
  runtime = await startTestWorker(t, {
    // The fake serves files on 127.0.0.1: passed as `MEDIA_ALLOW_ORIGINS` would pass it.
    mediaFetcher: new MediaFetcher({ settings: t.deps.settings, allowOrigins: [fake.url] }),
  });
  instanceId = (
    await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: auth,
      payload: { name: 'slack', channel: 'slack' },
    })
  ).json().data.id;
}, 60_000);
afterAll(async () => {
  await runtime?.stop();
  await t?.close();
  await fake?.stop();
}, 60_000);

const api = (method: 'GET' | 'POST' | 'PATCH', path: string, payload?: object) =>
  t.app.inject({
    method,
    url: `/api/v2/instances/${instanceId}${path}`,
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    ...(payload ? { payload: JSON.stringify(payload) } : {}),
  });

async function runSync(body: object) {
  const created = await api('POST', '/sync', body);
  expect(created.statusCode).toBe(202);
  for (;;) {
    const job = (await api('GET', `/sync/${created.json().data.jobId}`)).json().data;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await Bun.sleep(50);
  }
}

test('a slack instance connects with a token: a wrong one is 422, the right one stores the bot profile', async () => {
  const bad = await api('POST', '/connect', { token: 'xoxb-wrong' });
  expect(bad.statusCode).toBe(422);
  expect(bad.json().error.code).toBe('INVALID_CREDENTIALS');
  const ok = await api('POST', '/connect', { token: fake.token });
  expect(ok.statusCode).toBe(200);
  const data = ok.json().data;
  expect(data.channel).toBe('slack');
  expect(data.profileName).toBe('omni-sync');
  expect(data.ownerIdentifier).toBe(fake.data.botUserId);
  expect(data.profileMetadata).toMatchObject({
    teamId: fake.data.teamId,
    team: fake.data.teamName,
    isBot: true,
    appTier: 'internal',
  });
}, 30_000);

test('every sync type through the worker: exact stored set with threads, edits and deletes applied, the unreadable chat reported with why, 429s lose nothing, a rerun stores nothing', async () => {
  fake.inject({ kind: '429', count: 3, route: /^conversations\.(history|replies)$/, retryAfterSeconds: 1 });
  const job = await runSync({ type: 'all', depth: 'all', downloadMedia: true });
  expect(job.status).toBe('completed');
  const window = job.progress.window as { until: string };
  const until = Date.parse(window.until);
  const readable = fake.data.channels.filter((c) => c.member);
  const expected = new Set(
    readable.flatMap((c) => fake.expectedIds(c, null, until).map((ts) => `${c.id}/${ts}`)),
  );

  const rows = await t.db.db
    .selectFrom('messages')
    .select([
      'external_id',
      'chat_external_id',
      'kind',
      'text',
      'edited_at',
      'deleted_at',
      'reply_to_external_id',
      'media_local_path',
    ])
    .where('instance_id', '=', instanceId)
    .execute();
  expect(rows.length).toBe(expected.size);
  expect(new Set(rows.map((r) => `${r.chat_external_id}/${r.external_id}`))).toEqual(expected);
  expect(job.progress.stored).toBe(expected.size);
  expect(fake.stats.status429).toBe(3);
  expect(job.progress.rateLimitWaits).toBeGreaterThanOrEqual(3);

  const general = fake.data.channels.find((c) => c.name === 'general')!;
  const inGeneral = rows.filter((r) => r.chat_external_id === general.id);
  expect(inGeneral.filter((r) => r.reply_to_external_id !== null).length).toBe(fake.data.replyCount(general));
  expect(inGeneral.some((r) => r.kind === 'edit')).toBe(true);
  expect(inGeneral.some((r) => r.kind === 'revoke')).toBe(true);
  expect(inGeneral.some((r) => r.text?.endsWith('(changed)') && r.edited_at !== null)).toBe(true);
  expect(inGeneral.filter((r) => r.kind !== 'revoke' && r.deleted_at !== null).length).toBeGreaterThan(1);
  expect(inGeneral.some((r) => r.text?.endsWith('(edited)') && r.edited_at !== null)).toBe(true);
  expect(inGeneral.filter((r) => r.media_local_path !== null).length).toBeGreaterThan(0);

  const random = fake.data.channels.find((c) => c.name === 'random')!;
  const skipped = job.progress.skippedChats as { chatId: string; name: string; reason: string }[];
  expect(skipped).toEqual([
    { chatId: random.id, name: 'random', reason: expect.stringContaining('not_in_channel') },
  ]);

  const contacts = (await api('GET', '/contacts?limit=100&includeAbsent=true')).json();
  expect(contacts.items.length).toBe(fake.data.users.length);
  const groups = (await api('GET', '/groups?limit=100')).json();
  expect(groups.items.map((g: { name: string }) => g.name).sort()).toEqual([
    'general',
    'old',
    'random',
    'secret',
  ]);
  const secret = fake.data.channels.find((c) => c.name === 'secret')!;
  const item = groups.items.find((g: { name: string }) => g.name === 'secret');
  const group = (await api('GET', `/groups/${item.id}`)).json().data;
  expect(group.participants.map((p: { id: string }) => p.id).sort()).toEqual([...secret.members].sort());

  const again = await runSync({ type: 'messages', depth: 'all' });
  expect(again.status).toBe('completed');
  expect(again.progress.stored).toBe(0);
}, 120_000);

test("the plan shows what Slack's app tier means before a sync: page size, pace and ETA follow sync.slack.appTier", async () => {
  const plan = async () => {
    const res = await api('POST', '/sync/plan', { type: 'messages', depth: 'all' });
    expect(res.statusCode).toBe(200);
    return res.json().data as {
      estimatedRequests: number;
      etaSeconds: number;
      pacing: { pageSize: number; requestsPerMinute: number; reason: string };
    };
  };
  try {
    await t.deps.settings.update({ 'sync.slack.appTier': 'internal' });
    const internal = await plan();
    // Tier 3 binds tighter than the instance's budget (60,000/min here); the page is the plugin's.
    expect(internal.pacing).toMatchObject({ pageSize: 50, requestsPerMinute: 50 });
    expect(internal.pacing.reason).toContain('internal');
    expect(internal.estimatedRequests).toBeGreaterThan(0);
    expect(internal.etaSeconds).toBe(Math.ceil((internal.estimatedRequests / 50) * 60));

    await t.deps.settings.update({ 'sync.slack.appTier': 'unlisted' });
    const unlisted = await plan();
    expect(unlisted.pacing).toMatchObject({ pageSize: 15, requestsPerMinute: 1 });
    expect(unlisted.pacing.reason).toContain('unlisted');
    expect(unlisted.estimatedRequests).toBeGreaterThanOrEqual(internal.estimatedRequests);
    expect(unlisted.etaSeconds).toBe(unlisted.estimatedRequests * 60);
  } finally {
    await t.deps.settings.update({ 'sync.slack.appTier': 'internal' });
  }
});
