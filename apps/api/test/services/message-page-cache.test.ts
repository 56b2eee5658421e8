import { describe, expect, test } from 'bun:test';
import type { ChangeListener, ListenChanges } from '@omni/db';
import {
  MESSAGES_CHANNEL,
  MessagePageCache,
  type MessagePageCacheOptions,
  PAGE_ENTRY_OVERHEAD,
} from '../../src/services/message-page-cache.ts';

/** A change feed the test drives: what the cache subscribed, and the listener to call. */
function manualFeed() {
  const feed: { channel: string | null; listener: ChangeListener | null; closed: number } = {
    channel: null,
    listener: null,
    closed: 0,
  };
  const listen: ListenChanges = (channel, listener) => {
    feed.channel = channel;
    feed.listener = listener;
    return {
      close: async () => {
        feed.closed += 1;
        listener.listening(false);
      },
    };
  };
  return { feed, listen };
}

/** A cache whose feed listens (its first ticket subscribed it): pages can be kept. */
function listeningCache(options: MessagePageCacheOptions = {}) {
  const { feed, listen } = manualFeed();
  const cache = new MessagePageCache(listen, options);
  cache.ticket('i1', 'c1');
  feed.listener?.listening(true);
  return { feed, cache };
}

const page = (text: string) => Buffer.from(text);
/** Bytes a page kept under `key` counts. */
const cost = (key: string, text: string) => key.length + Buffer.byteLength(text) + PAGE_ENTRY_OVERHEAD;
/** A page of chat c1 that any change of the chat alters. */
const ALL = { chat: 'c1', lo: -Infinity, hi: Infinity };

describe('MessagePageCache', () => {
  test('keeps nothing until the feed listens; subscribes on the first ticket only', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen);
    expect(feed.listener).toBeNull();
    expect(cache.ticket('i1', 'c1')).toBeNull();
    expect(feed.channel).toBe(MESSAGES_CHANNEL);
    cache.put(cache.ticket('i1', 'c1'), 'k', page('p'), ALL);
    expect(cache.get('k')).toBeUndefined();
    feed.listener?.listening(true);
    const ticket = cache.ticket('i1', 'c1');
    expect(ticket).not.toBeNull();
    cache.put(ticket, 'k', page('p'), ALL);
    expect(cache.get('k')?.toString()).toBe('p');
    expect(cache.stats()).toMatchObject({ hits: 1, pages: 1, bytes: cost('k', 'p'), listening: true });
  });

  test("a whole-instance change drops its pages, not other instances'", () => {
    const { feed, cache } = listeningCache();
    cache.put(cache.ticket('i1', 'c1'), 'a1', page('a1'), ALL);
    cache.put(cache.ticket('i1', 'c1'), 'a2', page('a2'), ALL);
    cache.put(cache.ticket('i2', 'c1'), 'b1', page('b1'), ALL);
    feed.listener?.notify('i1');
    expect(cache.get('a1')).toBeUndefined();
    expect(cache.get('a2')).toBeUndefined();
    expect(cache.get('b1')?.toString()).toBe('b1');
    expect(cache.stats()).toMatchObject({ pages: 1, bytes: cost('b1', 'b1') });
  });

  test('a page read while its instance changed is not kept; one read after is', () => {
    const { feed, cache } = listeningCache();
    const before = cache.ticket('i1', 'c1');
    feed.listener?.notify('i1 c1 0 10'); // committed while the page was being read
    cache.put(before, 'k', page('old'), ALL);
    expect(cache.get('k')).toBeUndefined();
    const after = cache.ticket('i1', 'c1');
    cache.put(after, 'k', page('new'), ALL);
    expect(cache.get('k')?.toString()).toBe('new');
  });

  test('a lost feed drops everything, keeps nothing while lost, and a ticket from before the loss keeps nothing', () => {
    const { feed, cache } = listeningCache();
    cache.put(cache.ticket('i1', 'c1'), 'k', page('p'), ALL);
    const inFlight = cache.ticket('i1', 'c1');
    feed.listener?.listening(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.ticket('i1', 'c1')).toBeNull();
    feed.listener?.listening(true);
    cache.put(inFlight, 'k', page('stale'), ALL);
    expect(cache.get('k')).toBeUndefined();
    cache.put(cache.ticket('i1', 'c1'), 'k', page('fresh'), ALL);
    expect(cache.get('k')?.toString()).toBe('fresh');
  });

  test('bytes are bounded: the least recently used page goes first; a page bigger than the bound is not kept', () => {
    const { cache } = listeningCache({ maxBytes: 2 * cost('a', 'aaaa') });
    cache.put(cache.ticket('i1', 'c1'), 'a', page('aaaa'), ALL);
    cache.put(cache.ticket('i1', 'c1'), 'b', page('bbbb'), ALL);
    expect(cache.get('a')?.toString()).toBe('aaaa'); // a is now the most recent
    cache.put(cache.ticket('i1', 'c1'), 'c', page('cccc'), ALL);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.toString()).toBe('aaaa');
    expect(cache.get('c')?.toString()).toBe('cccc');
    cache.put(cache.ticket('i1', 'c1'), 'huge', page('x'.repeat(2 * cost('a', 'aaaa'))), ALL);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.stats().bytes).toBe(2 * cost('a', 'aaaa'));
  });

  test('tiny pages under many distinct keys stay inside the bound: each counts its key and its keeping', () => {
    const maxBytes = 100_000;
    const { cache } = listeningCache({ maxBytes });
    const empty = '{"items":[],"meta":{"hasMore":false,"cursor":null}}';
    for (let i = 0; i < 5_000; i++) {
      cache.put(cache.ticket('i1', 'c1'), `${'k'.repeat(150)}${i}`, page(empty), ALL);
    }
    const { pages, bytes } = cache.stats();
    expect(bytes).toBeLessThanOrEqual(maxBytes);
    expect(pages).toBeLessThanOrEqual(Math.floor(maxBytes / (150 + empty.length + PAGE_ENTRY_OVERHEAD)));
  });

  test('maxBytes 0 keeps nothing and opens no subscription', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen, { maxBytes: 0 });
    expect(cache.ticket('i1', 'c1')).toBeNull();
    expect(feed.listener).toBeNull();
  });

  test('a page older than maxAgeMs is read again even with no change heard', async () => {
    const { cache } = listeningCache({ maxAgeMs: 20 });
    cache.put(cache.ticket('i1', 'c1'), 'k', page('p'), ALL);
    expect(cache.get('k')).toBeDefined();
    await Bun.sleep(40);
    expect(cache.get('k')).toBeUndefined();
  });

  test("a page's age counts from its ticket (the read's start), not from when it is kept", async () => {
    const { cache } = listeningCache({ maxAgeMs: 30 });
    const ticket = cache.ticket('i1', 'c1');
    await Bun.sleep(40); // a slow read
    cache.put(ticket, 'k', page('p'), ALL);
    expect(cache.get('k')).toBeUndefined();
  });

  test('close stops the subscription and keeps nothing after', async () => {
    const { feed, cache } = listeningCache();
    cache.put(cache.ticket('i1', 'c1'), 'k', page('p'), ALL);
    await cache.close();
    expect(feed.closed).toBe(1);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.ticket('i1', 'c1')).toBeNull();
  });

  test("a chat's change drops the pages whose span it touches, not its other pages nor other chats'", () => {
    const { feed, cache } = listeningCache();
    const keep = (key: string, chat: string, lo: number, hi: number) =>
      cache.put(cache.ticket('i1', chat), key, page(key), { chat, lo, hi });
    keep('newest', 'c1', 1_000, Infinity);
    keep('deeper', 'c1', 500, 1_000);
    keep('last', 'c1', -Infinity, 500);
    keep('other', 'c2', -Infinity, Infinity);
    // A new message (after everything): only the newest page.
    feed.listener?.notify('i1 c1 2000 2000');
    expect(cache.get('newest')).toBeUndefined();
    expect(cache.get('deeper')?.toString()).toBe('deeper');
    expect(cache.get('last')?.toString()).toBe('last');
    expect(cache.get('other')?.toString()).toBe('other');
    // Backfill older than everything: only the last page (its hasMore flips).
    feed.listener?.notify('i1 c1 10 20');
    expect(cache.get('last')).toBeUndefined();
    expect(cache.get('deeper')?.toString()).toBe('deeper');
    // A span touching a bound is a change of the page (bounds are inclusive).
    feed.listener?.notify('i1 c1 1000 1500');
    expect(cache.get('deeper')).toBeUndefined();
    expect(cache.get('other')?.toString()).toBe('other');
  });

  test('a page of a chat read while the chat changed is not kept, whatever the span; one of another chat is', () => {
    const { feed, cache } = listeningCache();
    const c1 = cache.ticket('i1', 'c1');
    const c2 = cache.ticket('i1', 'c2');
    feed.listener?.notify('i1 c1 5 5');
    cache.put(c1, 'a', page('a'), { chat: 'c1', lo: 100, hi: 200 });
    cache.put(c2, 'b', page('b'), { chat: 'c2', lo: 100, hi: 200 });
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')?.toString()).toBe('b');
    // The span must be the ticket's chat.
    cache.put(cache.ticket('i1', 'c1'), 'x', page('x'), { chat: 'c2', lo: 0, hi: 1 });
    expect(cache.get('x')).toBeUndefined();
  });

  test('a payload it cannot read drops everything', () => {
    const { feed, cache } = listeningCache();
    cache.put(cache.ticket('i1', 'c1'), 'k', page('p'), ALL);
    feed.listener?.notify('i1 c1 nonsense');
    expect(cache.get('k')).toBeUndefined();
  });
});
