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
    data: mixedScenario({ scale: 0.3, nowMs: Date.now() - 1000 }),
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

interface ChatRow {
  chatId: string;
  gaps: { from: string; to: string; reason: string }[];
  ranges: { from: string; to: string; fromReason: string; toReason: string }[];
  tail: { from: string; to: string } | null;
  complete: boolean;
  notPermitted: string | null;
  storedCount: number;
}

async function coverage(query: string) {
  const res = await api('GET', `/coverage${query}`);
  expect(res.statusCode).toBe(200);
  return res.json().data as {
    summary: {
      chats: number;
      complete: number;
      withGaps: number;
      notPermitted: number;
      gapReasons: Record<string, number>;
      storedMessages: number;
    };
    chats: ChatRow[];
  };
}

test('coverage report: after a 7d sync every readable chat is complete to 7d; 30d shows the older gaps; a catchup leaves no gap', async () => {
  expect((await api('GET', '/coverage?depth=bogus')).statusCode).toBe(400);
  const unknown = await t.app.inject({
    url: '/api/v2/instances/00000000-0000-4000-8000-000000000000/coverage',
    headers: auth,
  });
  expect(unknown.statusCode).toBe(404);
  expect((await api('POST', '/connect', { token: fake.token })).statusCode).toBe(200);

  const created = await api('POST', '/sync', { type: 'messages', depth: '7d' });
  const first = await waitForEnd(created.json().data.jobId);
  expect(first.status).toBe('completed');
  const week = await coverage('?depth=7d');
  const readable = fake.data.chats.filter((c) => c.readable && c.kind !== 'forum');
  for (const chat of readable) {
    const row = week.chats.find((c) => c.chatId === chat.id);
    expect(row).toBeDefined();
    expect(row?.gaps).toEqual([]);
    expect(row?.complete).toBe(true);
    expect(row?.storedCount).toBe(
      fake.expectedIds(chat, Date.parse(first.progress.window.since), Date.parse(first.progress.window.until))
        .length,
    );
  }
  const staff = week.chats.find((c) => c.chatId === fake.data.chats.find((x) => x.name === 'staff-only')?.id);
  expect(staff?.notPermitted).toContain('VIEW_CHANNEL');
  expect(week.summary.notPermitted).toBe(1);

  // 30d: chats whose history goes back further than 7d have an older gap bounded by the 7d window's edge.
  const month = await coverage('?depth=30d');
  const older = readable.filter(
    (c) => c.messageCount > 0 && c.firstMs < Date.parse(first.progress.window.since),
  );
  expect(older.length).toBeGreaterThan(0);
  for (const chat of older) {
    const row = month.chats.find((c) => c.chatId === chat.id);
    expect(row?.gaps).toHaveLength(1);
    expect(row?.gaps[0]?.reason).toBe('depth');
    expect(Date.parse(row!.gaps[0]!.to)).toBe(Date.parse(first.progress.window.since));
  }
  expect(month.summary.gapReasons.depth).toBe(older.length);

  // Plan the 30d sync (nothing stored), then run exactly that plan.
  const messagesBefore = week.summary.storedMessages;
  const planned = await api('POST', '/sync/plan', { type: 'messages', depth: '30d' });
  expect(planned.statusCode).toBe(200);
  const plan = planned.json().data as {
    planId: string;
    estimatedMessages: number;
    estimatedRequests: number;
    probeRequests: number;
    unestimatedChats: number;
    etaSeconds: number;
    chats: { chatId: string; windows: { from: string; to: string; estimatedMessages: number | null }[] }[];
  };
  expect(plan.chats.length).toBeGreaterThanOrEqual(older.length);
  for (const chat of older) expect(plan.chats.some((c) => c.chatId === chat.id)).toBe(true);
  expect(plan.estimatedRequests).toBeGreaterThan(0);
  expect((await api('GET', '/coverage?depth=7d')).json().data.summary.storedMessages).toBe(messagesBefore);
  expect((await api('POST', '/sync', { planId: 'not-a-plan' })).statusCode).toBe(400);
  const run = await api('POST', '/sync', { planId: plan.planId });
  expect(run.statusCode).toBe(202);
  const ran = await waitForEnd(run.json().data.jobId);
  expect(ran.status).toBe('completed');
  expect(ran.config.chatIds.sort()).toEqual(plan.chats.map((c) => c.chatId).sort());
  // The job carried the plan's estimate as its total, and its unestimated chats (less those the
  // job skips as unreadable: never synced, so never estimated).
  expect(ran.progress.estimatedTotal).toBe(plan.estimatedMessages);
  expect(ran.progress.skippedChats.length).toBeGreaterThan(0);
  expect(ran.progress.unestimatedChats).toBe(plan.unestimatedChats - ran.progress.skippedChats.length);
  const stored = ran.progress.stored as number;
  const ratio = plan.estimatedMessages / Math.max(1, stored);
  console.log(
    JSON.stringify({
      planEstimatedMessages: plan.estimatedMessages,
      probeRequests: plan.probeRequests,
      unestimatedChats: plan.unestimatedChats,
      jobEstimatedTotal: ran.progress.estimatedTotal,
      storedBySync: stored,
      ratio: Number(ratio.toFixed(3)),
    }),
  );
  // The bound: the plan's estimate within ±15 % of what the sync then stores.
  expect(ratio).toBeGreaterThanOrEqual(0.85);
  expect(ratio).toBeLessThanOrEqual(1.15);

  const caught = await api('POST', '/sync', { type: 'catchup' });
  expect(caught.statusCode).toBe(202);
  const catchup = await waitForEnd(caught.json().data.jobId);
  expect(catchup.status).toBe('completed');
  expect(catchup.type).toBe('catchup');
  const after = await coverage('?depth=7d');
  for (const chat of readable) {
    const row = after.chats.find((c) => c.chatId === chat.id)!;
    expect(row.gaps).toEqual([]);
    expect(Date.parse(row.ranges.at(-1)!.to)).toBe(Date.parse(catchup.progress.window.until));
  }
  // Reconnecting an instance with synced history queues a catchup job by itself.
  expect((await api('POST', '/disconnect')).statusCode).toBe(200);
  expect((await api('POST', '/connect', { token: fake.token })).statusCode).toBe(200);
  const listed = (await api('GET', '/sync')).json().items as { jobId: string; type: string }[];
  const healing = listed.filter((j) => j.type === 'catchup' && j.jobId !== catchup.jobId);
  expect(healing).toHaveLength(1);
  expect((await waitForEnd(healing[0]!.jobId)).status).toBe('completed');

  const one = await coverage(`?depth=7d&chatId=${readable[0]!.id}`);
  expect(one.chats.map((c) => c.chatId)).toEqual([readable[0]!.id]);
});
