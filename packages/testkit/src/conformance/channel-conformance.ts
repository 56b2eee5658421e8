import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  CHANNEL_IDS,
  type ChannelPlugin,
  type ChatId,
  type CooldownPolicy,
  fixedRateSource,
  type HistoryBatch,
  hasMedia,
  type InstanceRef,
  type JsonValue,
  type Logger,
  MediaFetcher,
  type PluginContext,
  RateLimiter,
  type StoredMessageRef,
} from '@omni/sync-core';

/** What a channel package hands the suite: its plugin wired to its own fake platform. */
export interface ConformanceFixture {
  plugin: ChannelPlugin;
  /** An instance whose credentials the fake accepts. */
  instance: InstanceRef;
  /** A chat with a known history on the fake. */
  chatId: ChatId;
  /** Newest time of the history window, UTC ms (the job's start). */
  until: number;
  /** Depth boundaries to page to, UTC ms; `null` = all history. At least two. */
  depths: (number | null)[];
  /** Oldest already-stored message to page back from (platforms that page from an anchor). */
  anchor?: StoredMessageRef | null;
  /** The platform's message ids of `chatId` in [since, until), the exact expected set. */
  expectedIds(since: number | null): Promise<string[]> | string[];
  /**
   * The platform's message ids of `chatId` in [since, before): lets the suite check that a gap
   * inside the history (what the engine asks for when its coverage ledger lacks it) is fetched
   * exactly. Required when `capabilities.historyPaging` is `'time'` (the default).
   */
  expectedIdsBetween?(since: number, before: number): Promise<string[]> | string[];
  /** Makes the next `count` history requests answer with the platform's rate-limit refusal. */
  injectRateLimits(count: number): void;
  /** Refusals the fake platform answered so far. */
  rateLimitsSent(): number;
  close(): Promise<void>;
}

/** A depth before the history of every fixture (2015-02-01 UTC, after Discord's epoch). */
const EARLIEST_DEPTH = Date.UTC(2015, 1, 1);

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const fastCooldown: CooldownPolicy = { delayMs: () => 5 };

/**
 * A context on the engine's real `RateLimiter`, with a short cooldown so the suite runs fast, and
 * the engine's real `MediaFetcher` (pass one that allows the fake's origin to download from it).
 */
export function conformanceContext(
  instance: InstanceRef,
  options: { mediaFetcher?: MediaFetcher } = {},
): { ctx: PluginContext; refusals: () => number } {
  const limiter = new RateLimiter({
    rates: fixedRateSource({}),
    cooldown: fastCooldown,
    transientBaseDelayMs: 5,
  });
  const signal = new AbortController().signal;
  const fetcher = options.mediaFetcher ?? new MediaFetcher();
  const ctx: PluginContext = {
    instance,
    signal,
    request: limiter.bind({ instanceId: instance.id, channel: instance.channel }),
    fetchMedia: (url, init) => fetcher.fetch(url, { ...init, signal: init.signal ?? signal }),
    log: quiet,
  };
  return { ctx, refusals: () => limiter.stats(instance.id).rateLimited };
}

async function collect(
  plugin: ChannelPlugin,
  ctx: PluginContext,
  params: {
    chatId: ChatId;
    since: number | null;
    until: number;
    cursor: JsonValue | null;
    anchor?: StoredMessageRef | null;
  },
  stopAfter = Number.POSITIVE_INFINITY,
): Promise<HistoryBatch[]> {
  const batches: HistoryBatch[] = [];
  for await (const batch of plugin.fetchHistory(ctx, params)) {
    batches.push(batch);
    if (batches.length >= stopAfter) break;
  }
  return batches;
}

const ids = (batches: HistoryBatch[]) => batches.flatMap((b) => b.messages.map((m) => String(m.externalId)));
const sorted = (list: string[]) => [...list].sort();

/**
 * The contract every `ChannelPlugin` must keep, run against the channel's own fake: profile shape,
 * paging exactly to a depth boundary, `exhausted` only where the history begins after the depth, batch ordering, JSON-safe cursors that resume exactly after
 * a stop, idempotent repeats, rate-limit refusals retried (never a lost page), media descriptors.
 *
 * @example
 * ```ts
 * runChannelConformance('discord', async () => ({ plugin, instance, chatId, ... }));
 * ```
 */
export function runChannelConformance(name: string, setup: () => Promise<ConformanceFixture>): void {
  describe(`ChannelPlugin conformance: ${name}`, () => {
    let f: ConformanceFixture;
    const params = (since: number | null, cursor: JsonValue | null = null) => ({
      chatId: f.chatId,
      since,
      until: f.until,
      cursor,
      anchor: f.anchor ?? null,
    });

    beforeAll(async () => {
      f = await setup();
      expect(f.depths.length).toBeGreaterThanOrEqual(2);
    }, 60_000);
    afterAll(async () => {
      await f?.close();
    });

    test('id and capabilities are declared', () => {
      expect(CHANNEL_IDS).toContain(f.plugin.id);
      expect(f.plugin.capabilities.parts).toContain('messages');
      expect(f.plugin.capabilities.defaultRateLimits.messagesPerMinute).toBeGreaterThan(0);
    });

    test('profile has the contract shape and is JSON-safe', async () => {
      const { ctx } = conformanceContext(f.instance);
      const profile = await f.plugin.getProfile(ctx);
      for (const key of ['name', 'avatarUrl', 'bio', 'ownerIdentifier'] as const) {
        expect(profile[key] === null || typeof profile[key] === 'string').toBe(true);
      }
      expect(typeof profile.platformMetadata).toBe('object');
      expect(JSON.parse(JSON.stringify(profile))).toEqual(profile);
    });

    test('listChats includes the fixture chat as readable', async () => {
      const { ctx } = conformanceContext(f.instance);
      const listing = await f.plugin.listChats(ctx);
      const chat = listing.chats.find((c) => c.id === f.chatId);
      expect(chat?.readable).toBe(true);
      for (const c of listing.chats) if (!c.readable) expect(c.reason).toBeTruthy();
    });

    test('pages exactly to each depth boundary, batches newest to oldest, oldest-first inside', async () => {
      for (const since of f.depths) {
        const { ctx } = conformanceContext(f.instance);
        const batches = await collect(f.plugin, ctx, params(since));
        const got = ids(batches);
        expect(new Set(got).size).toBe(got.length);
        expect(sorted(got)).toEqual(sorted(await f.expectedIds(since)));
        let previousOldest = Number.POSITIVE_INFINITY;
        // Thread replies served per root travel with or right after their root (see `HistoryBatch`):
        // the newest-to-oldest order holds for the other messages; a reply is never older than its root.
        const seen = new Map<string, number>();
        for (const batch of batches) {
          const times = batch.messages.map((m) => m.timestamp);
          expect(times).toEqual([...times].sort((a, b) => a - b));
          for (const t of times) {
            expect(t).toBeLessThan(f.until);
            if (since !== null) expect(t).toBeGreaterThanOrEqual(since);
          }
          for (const m of batch.messages) seen.set(String(m.externalId), m.timestamp);
          const outside = batch.messages
            .filter((m) => m.replyToId == null || !seen.has(String(m.replyToId)))
            .map((m) => m.timestamp);
          for (const m of batch.messages) {
            const root = m.replyToId == null ? undefined : seen.get(String(m.replyToId));
            if (root !== undefined) expect(m.timestamp).toBeGreaterThanOrEqual(root);
          }
          if (outside.length > 0) {
            expect(outside.at(-1)!).toBeLessThanOrEqual(previousOldest);
            previousOldest = outside[0]!;
          }
          for (const m of batch.messages) {
            expect(String(m.chatId)).toBe(String(f.chatId));
            expect(Number.isFinite(m.timestamp)).toBe(true);
          }
        }
        expect(batches.at(-1)?.hasMore ?? false).toBe(false);
      }
    });

    test('a gap inside the history is fetched exactly (historyPaging: time)', async () => {
      if (f.plugin.capabilities.historyPaging === 'stored-message') return;
      expect(f.expectedIdsBetween).toBeDefined();
      const oldest = f.depths.find((d): d is number => d !== null);
      expect(oldest).toBeDefined();
      const since = oldest as number;
      const before = since + Math.floor((f.until - since) / 2);
      const { ctx } = conformanceContext(f.instance);
      const batches = await collect(f.plugin, ctx, { ...params(since), until: before });
      const got = ids(batches);
      expect(new Set(got).size).toBe(got.length);
      expect(sorted(got)).toEqual(sorted(await f.expectedIdsBetween!(since, before)));
      expect(batches.at(-1)?.hasMore ?? false).toBe(false);
    });

    test('exhausted means the history begins after the depth: never with all, always before the first message', async () => {
      const { ctx } = conformanceContext(f.instance);
      const all = await collect(f.plugin, ctx, params(null));
      expect(all.at(-1)?.hasMore ?? false).toBe(false);
      expect(all.at(-1)?.exhausted ?? false).toBe(false);
      for (const batch of all.slice(0, -1)) expect(batch.exhausted ?? false).toBe(false);
      // A depth before any message of the chat: the whole history, and the chat is exhausted.
      const beforeEverything = EARLIEST_DEPTH;
      const deep = await collect(f.plugin, conformanceContext(f.instance).ctx, params(beforeEverything));
      expect(sorted(ids(deep))).toEqual(sorted(await f.expectedIds(beforeEverything)));
      expect(sorted(ids(deep))).toEqual(sorted(ids(all)));
      expect(deep.at(-1)?.exhausted).toBe(true);
      for (const batch of deep.slice(0, -1)) expect(batch.exhausted ?? false).toBe(false);
    });

    test('a JSON round-tripped cursor resumes exactly after the last batch taken', async () => {
      const since = f.depths[0] ?? null;
      const { ctx } = conformanceContext(f.instance);
      const first = await collect(f.plugin, ctx, params(since), 1);
      expect(first).toHaveLength(1);
      const cursor = JSON.parse(JSON.stringify(first[0]!.cursor)) as JsonValue;
      const rest = first[0]!.hasMore ? await collect(f.plugin, ctx, params(since, cursor)) : [];
      const all = [...ids(first), ...ids(rest)];
      expect(new Set(all).size).toBe(all.length);
      expect(sorted(all)).toEqual(sorted(await f.expectedIds(since)));
    });

    test('repeating a fetch yields the same messages (idempotent)', async () => {
      const since = f.depths[0] ?? null;
      const a = ids(await collect(f.plugin, conformanceContext(f.instance).ctx, params(since)));
      const b = ids(await collect(f.plugin, conformanceContext(f.instance).ctx, params(since)));
      expect(sorted(b)).toEqual(sorted(a));
    });

    test('rate-limit refusals reach the engine as RateLimitedError and no page is lost', async () => {
      const since = f.depths[0] ?? null;
      const before = f.rateLimitsSent();
      f.injectRateLimits(3);
      const { ctx, refusals } = conformanceContext(f.instance);
      const got = ids(await collect(f.plugin, ctx, params(since)));
      expect(f.rateLimitsSent() - before).toBe(3);
      expect(refusals()).toBe(3);
      expect(sorted(got)).toEqual(sorted(await f.expectedIds(since)));
    });

    test('media descriptors carry what the contract promises', async () => {
      const { ctx } = conformanceContext(f.instance);
      const batches = await collect(f.plugin, ctx, params(f.depths.at(-1) ?? null));
      const media = batches.flatMap((b) => b.messages.flatMap((m) => m.media.map((d) => ({ m, d }))));
      for (const { m, d } of media) {
        expect(typeof d.mimeType).toBe('string');
        if (d.size !== undefined) expect(d.size).toBeGreaterThanOrEqual(0);
        if (d.isVoiceNote) {
          expect(m.kind).toBe('voice');
          expect(d.durationSeconds).toBeGreaterThan(0);
        }
        expect(d.url !== undefined || d.key !== undefined || d.base64 !== undefined).toBe(true);
        expect(JSON.parse(JSON.stringify(d))).toEqual(d);
      }
      if (media.length > 0) expect(hasMedia(f.plugin)).toBe(true);
    });
  });
}
