import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import {
  AuthError,
  CancelledError,
  chatId,
  type HistoryBatch,
  PermanentError,
  TransientError,
} from '@omni/sync-core';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { createDiscordPlugin, type DiscordPlugin } from '../src/index.ts';
import { collect, testContext } from './plugin-context.ts';

/** Paced against the fake (and Postgres): give slow CI machines room; nothing here asserts time. */
setDefaultTimeout(60_000);

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
/** Discord's 5-per-5 s shape and 50/s global, scaled down 10× so tests take seconds. */
const WINDOW = { limit: 5, windowMs: 400 };
const GLOBAL = { limit: 50, windowMs: 100 };

function pluginFor(fake: FakeDiscord, extra: Parameters<typeof createDiscordPlugin>[0] = {}): DiscordPlugin {
  return createDiscordPlugin({
    api: fake.apiUrl,
    historyRequestsPerWindow: WINDOW.limit,
    historyWindowMs: WINDOW.windowMs,
    globalRequestsPerWindow: GLOBAL.limit,
    globalWindowMs: GLOBAL.windowMs,
    cloudflareProbeMs: 150,
    ...extra,
  });
}

function idsOf(batches: HistoryBatch[]): string[] {
  return batches.flatMap((b) => b.messages.map((m) => m.externalId as string));
}

describe('fetchHistory against the fake', () => {
  let fake: FakeDiscord;
  /** One plugin for the whole file: its pacing windows carry over between tests, as in one process. */
  let plugin: DiscordPlugin;
  const INSTANCE = crypto.randomUUID();
  beforeAll(async () => {
    fake = await FakeDiscord.start({
      data: mixedScenario({ nowMs: NOW }),
      messageRateLimit: WINDOW,
      globalRateLimit: GLOBAL,
    });
    plugin = pluginFor(fake);
  });
  afterAll(() => fake.stop());

  test('a chat id that is not a snowflake never reaches the API (the token is not sent anywhere)', async () => {
    fake.stats.reset();
    const { ctx } = testContext({ token: fake.token }, { id: INSTANCE });
    for (const bad of ['../../users/@me#', '123/../../users/@me', '1?x=1', '%2e%2e', '']) {
      const error = await collect(
        plugin.fetchHistory(ctx, { chatId: chatId(bad), since: null, until: NOW, cursor: null }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
    }
    // Ids read from platform answers are checked too: a route with a non-plain segment is refused.
    const client = plugin.client(ctx);
    for (const route of ['/channels/../../users/@me', '/guilds/1#/x', '/channels/1 2/messages'] as const) {
      const error = await client.get(route).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
    }
    expect(fake.stats.requests).toBe(0);
  });

  for (const [depth, since] of [
    ['7d', NOW - 7 * DAY],
    ['30d', NOW - 30 * DAY],
    ['all', null],
  ] as const) {
    test(`${depth}: exactly the expected messages of every readable chat, no 429`, async () => {
      fake.stats.reset();
      const { ctx, log } = testContext({ token: fake.token }, { id: INSTANCE });
      const before429 = plugin.stats(INSTANCE)?.status429 ?? 0;
      const listing = await plugin.listChats(ctx);
      const readable = listing.chats.filter((c) => c.readable);
      await Promise.all(
        readable.map(async (chat) => {
          const fakeChat = fake.data.chat(chat.id)!;
          const batches = await collect(
            plugin.fetchHistory(ctx, { chatId: chat.id, since, until: NOW, cursor: null }),
          );
          const ids = idsOf(batches);
          const expected = fake.expectedIds(fakeChat, since, NOW);
          expect(ids.slice().sort()).toEqual(expected.slice().sort());
          for (const b of batches) {
            const ts = b.messages.map((m) => m.timestamp);
            expect(ts).toEqual(ts.slice().sort((x, y) => x - y));
            if (b.messages.length > 0) expect(b.cursor).toBe(b.messages[0]!.externalId);
            for (const m of b.messages) if (since !== null) expect(m.timestamp).toBeGreaterThanOrEqual(since);
          }
          for (let i = 1; i < batches.length; i++) {
            const prev = batches[i - 1]!.messages[0];
            const cur = batches[i]!.messages.at(-1);
            if (prev && cur) expect(BigInt(cur.externalId) < BigInt(prev.externalId)).toBe(true);
          }
          const last = batches.at(-1)!;
          expect(last.hasMore).toBe(false);
          const startsAfterSince =
            since !== null && (fakeChat.firstMs >= since || fakeChat.messageCount === 0);
          expect(last.exhausted === true).toBe(startsAfterSince);
        }),
      );
      expect(fake.stats.status429).toBe(0);
      expect(log.rateLimited.length).toBe(0);
      expect(plugin.stats(INSTANCE)!.status429 - before429).toBe(0);
    });
  }

  test('probeHistory: one page forward from the window start shows where history begins, and the exact count when it holds the window', async () => {
    const { ctx } = testContext({ token: fake.token }, { id: INSTANCE });
    const readable = fake.data.chats.filter((c) => c.readable && c.kind !== 'forum');
    for (const chat of readable) {
      for (const [since, until] of [
        [NOW - 30 * DAY, NOW - 7 * DAY],
        [NOW - 7 * DAY, NOW],
        [null, NOW],
      ] as const) {
        fake.stats.reset();
        const probe = await plugin.probeHistory(ctx, { chatId: chatId(chat.id), since, until });
        expect(fake.stats.pages(chat.id)).toBe(1);
        const expected = fake.expectedIds(chat, since, until);
        if (expected.length === 0) {
          expect(probe).toMatchObject({ oldestAt: null, sampled: 0, complete: true });
          continue;
        }
        const times = expected.map((id) => Number(BigInt(id) >> 22n) + 1420070400000);
        expect(probe.oldestAt).toBe(Math.min(...times));
        expect(probe.complete).toBe(expected.length <= 100);
        if (probe.complete) expect(probe.sampled).toBe(expected.length);
        else expect(probe.sampled).toBe(100);
      }
    }
  });

  test('resuming from a cursor continues exactly after the stored batch', async () => {
    const { ctx } = testContext({ token: fake.token }, { id: INSTANCE });
    const chat = fake.data.chats.find((c) => c.name === 'general')!;
    const first: HistoryBatch[] = [];
    for await (const b of plugin.fetchHistory(ctx, {
      chatId: chatId(chat.id),
      since: null,
      until: NOW,
      cursor: null,
    })) {
      first.push(b);
      if (first.length === 2) break;
    }
    const rest = await collect(
      plugin.fetchHistory(ctx, {
        chatId: chatId(chat.id),
        since: null,
        until: NOW,
        cursor: first[1]!.cursor,
      }),
    );
    const all = [...idsOf(first), ...idsOf(rest)];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(fake.expectedIds(chat, null, NOW).sort());
  });

  test('paging leaves no listener on ctx.signal (the job signal outlives every request) and counts each answer', async () => {
    const { ctx, log } = testContext({ token: fake.token }, { id: INSTANCE });
    let listeners = 0;
    let added = 0;
    const add = ctx.signal.addEventListener.bind(ctx.signal);
    const remove = ctx.signal.removeEventListener.bind(ctx.signal);
    ctx.signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
      listeners++;
      added++;
      add(...args);
    }) as AbortSignal['addEventListener'];
    ctx.signal.removeEventListener = ((...args: Parameters<AbortSignal['removeEventListener']>) => {
      listeners--;
      remove(...args);
    }) as AbortSignal['removeEventListener'];
    const chat = fake.data.chats.find((c) => c.name === 'general')!;
    const requestsBefore = plugin.stats(INSTANCE)?.requests ?? 0;
    const batches = await collect(
      plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
    );
    expect(batches.length).toBeGreaterThan(1);
    expect(added).toBeGreaterThan(0);
    expect(listeners).toBe(0);
    expect(plugin.stats(INSTANCE)!.requests - requestsBefore).toBe(log.calls.messages);
  });

  test('cancelling (ctx.signal) stops the paging between or during requests', async () => {
    const { ctx, abort } = testContext({ token: fake.token }, { id: INSTANCE });
    const chat = fake.data.chats.find((c) => c.name === 'general')!;
    const seen: HistoryBatch[] = [];
    const run = (async () => {
      for await (const b of plugin.fetchHistory(ctx, {
        chatId: chatId(chat.id),
        since: null,
        until: NOW,
        cursor: null,
      })) {
        seen.push(b);
        if (seen.length === 1) abort.abort(new CancelledError('job cancelled'));
      }
    })();
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(seen.length).toBe(1);
  });

  test('an empty channel yields one empty batch (exhausted for a finite depth)', async () => {
    const { ctx } = testContext({ token: fake.token }, { id: INSTANCE });
    const chat = fake.data.chats.find((c) => c.name === 'empty')!;
    const batches = await collect(
      plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
    );
    expect(batches).toEqual([{ messages: [], cursor: expect.any(String), hasMore: false }]);
    const week = await collect(
      plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: NOW - 7 * DAY, until: NOW, cursor: null }),
    );
    expect(week).toEqual([{ messages: [], cursor: expect.any(String), hasMore: false, exhausted: true }]);
  });

  test('errors: unreadable → PermanentError 403, bad token → AuthError', async () => {
    const staff = fake.data.chats.find((c) => c.name === 'staff-only')!;
    const { ctx } = testContext({ token: fake.token }, { id: INSTANCE });
    const denied = collect(
      plugin.fetchHistory(ctx, { chatId: chatId(staff.id), since: null, until: NOW, cursor: null }),
    );
    await expect(denied).rejects.toBeInstanceOf(PermanentError);
    await denied.catch((e: PermanentError) => expect(e.status).toBe(403));
    const bad = testContext({ token: 'wrong' });
    await expect(plugin.getProfile(bad.ctx)).rejects.toBeInstanceOf(AuthError);
    expect(() => plugin.client(testContext(null).ctx)).toThrow(AuthError);
  });
});

describe('429s and faults: no page is lost', () => {
  async function syncWithFaults(
    setup: (fake: FakeDiscord) => void,
    extra: Parameters<typeof createDiscordPlugin>[0] = {},
  ) {
    const fake = await FakeDiscord.start({
      data: {
        nowMs: NOW,
        guilds: [{ name: 'g', channels: [{ name: 'busy', messageCount: 1234, historyDays: 30 }] }],
      },
      messageRateLimit: WINDOW,
      globalRateLimit: GLOBAL,
    });
    setup(fake);
    const plugin = pluginFor(fake, extra);
    const { ctx, log } = testContext({ token: fake.token }, { transientRetries: 3 });
    const chat = fake.data.chats[0]!;
    try {
      const batches = await collect(
        plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
      );
      const ids = idsOf(batches);
      expect(ids.length).toBe(1234);
      expect(ids.sort()).toEqual(fake.expectedIds(chat, null, NOW).sort());
      return { fake, log, stats: plugin.stats(ctx.instance.id)! };
    } finally {
      await fake.stop();
    }
  }

  test('JSON 429s (with headers, and body-only) become RateLimitedErrors with retry_after; pages retried', async () => {
    const { fake, log, stats } = await syncWithFaults((f) => {
      f.inject({
        kind: '429-json',
        afterRequest: 3,
        count: 2,
        route: /\/messages$/,
        retryAfterSeconds: 0.05,
      });
      f.inject({
        kind: '429-bare-json',
        afterRequest: 8,
        count: 2,
        route: /\/messages$/,
        retryAfterSeconds: 0.07,
      });
    });
    expect(fake.stats.status429).toBe(4);
    expect(stats.status429).toBe(4);
    expect(log.rateLimited.map((e) => e.retryAfterMs)).toEqual([50, 50, 70, 70]);
    expect(log.rateLimited.map((e) => e.scope)).toEqual(['shared', 'shared', 'route', 'route']);
  });

  test('a Cloudflare HTML 429 is a long cooldown with scope ip, never a skipped page', async () => {
    const { fake, log, stats } = await syncWithFaults((f) => {
      f.inject({ kind: '429-html', afterRequest: 5, count: 3, route: /\/messages$/ });
    });
    expect(fake.stats.status429).toBe(3);
    expect(stats.cloudflare429).toBe(3);
    expect(log.rateLimited.map((e) => [e.scope, e.retryAfterMs])).toEqual([
      ['ip', 150],
      ['ip', 150],
      ['ip', 150],
    ]);
  });

  test('5xx, truncated bodies and timeouts become TransientErrors; the engine retries them', async () => {
    const { log } = await syncWithFaults(
      (f) => {
        f.inject({ kind: '500', afterRequest: 2, route: /\/messages$/ });
        f.inject({ kind: '502', afterRequest: 4, route: /\/messages$/ });
        f.inject({ kind: 'truncated', afterRequest: 6, route: /\/messages$/ });
        f.inject({ kind: 'slow', afterRequest: 8, route: /\/messages$/, delayMs: 3000 });
      },
      { requestTimeoutMs: 1000 },
    );
    expect(log.transient.map((e) => e.message.replace(/^.*: /, ''))).toEqual([
      'HTTP 500',
      'HTTP 502',
      'truncated or invalid JSON',
      'timed out',
    ]);
    expect(log.transient.every((e) => e instanceof TransientError)).toBe(true);
  });

  test('the real limits: without our pacing, lying headers get 429s from the fake, each counted and retried', async () => {
    const fake = await FakeDiscord.start({
      data: {
        nowMs: NOW,
        guilds: [{ name: 'g', channels: [{ name: 'c', messageCount: 650, historyDays: 30 }] }],
      },
      messageRateLimit: { limit: 5, windowMs: 1500 },
      globalRateLimit: GLOBAL,
      advertisedMessageLimit: 1000,
    });
    try {
      const plugin = pluginFor(fake, { historyRequestsPerWindow: 50 });
      const { ctx, log } = testContext({ token: fake.token });
      const chat = fake.data.chats[0]!;
      const batches = await collect(
        plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
      );
      expect(idsOf(batches).sort()).toEqual(fake.expectedIds(chat, null, NOW).sort());
      expect(fake.stats.limit429).toBeGreaterThan(0);
      expect(plugin.stats(ctx.instance.id)!.status429).toBe(fake.stats.status429);
      expect(log.rateLimited.length).toBe(fake.stats.status429);
    } finally {
      await fake.stop();
    }
  });

  test('a global 429 (X-RateLimit-Global) becomes a RateLimitedError of scope global', async () => {
    const fake = await FakeDiscord.start({
      data: mixedScenario({ nowMs: NOW }),
      globalRateLimit: { limit: 4, windowMs: 300 },
      routeRateLimit: { limit: 100, windowMs: 100 },
    });
    try {
      const plugin = pluginFor(fake, { globalRequestsPerWindow: 1000 });
      const { ctx, log } = testContext({ token: fake.token });
      const { chats } = await plugin.listChats(ctx);
      expect(chats.length).toBe(11);
      expect(fake.stats.global429).toBeGreaterThan(0);
      expect(log.rateLimited.length).toBe(fake.stats.status429);
      expect(log.rateLimited.every((e) => e.scope === 'global' && (e.retryAfterMs ?? 0) > 0)).toBe(true);
    } finally {
      await fake.stop();
    }
  });

  test('lying headers (advertised 1000) do not lure the pacing into 429s', async () => {
    const fake = await FakeDiscord.start({
      data: {
        nowMs: NOW,
        guilds: [{ name: 'g', channels: [{ name: 'c', messageCount: 1500, historyDays: 30 }] }],
      },
      messageRateLimit: WINDOW,
      globalRateLimit: GLOBAL,
      advertisedMessageLimit: 1000,
    });
    try {
      const plugin = pluginFor(fake);
      const { ctx } = testContext({ token: fake.token });
      const chat = fake.data.chats[0]!;
      const batches = await collect(
        plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
      );
      expect(idsOf(batches).length).toBe(1500);
      expect(fake.stats.status429).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});
