import { describe, expect, test } from 'bun:test';
import type { ChangeListener, ListenChanges } from '@omni/db';
import { MESSAGES_CHANNEL, MessagePageCache } from '../../src/services/message-page-cache.ts';

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

const page = (text: string) => Buffer.from(text);

describe('MessagePageCache', () => {
  test('keeps nothing until the feed listens; subscribes on the first ticket only', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen);
    expect(feed.listener).toBeNull();
    expect(cache.ticket('i1')).toBeNull();
    expect(feed.channel).toBe(MESSAGES_CHANNEL);
    cache.put(cache.ticket('i1'), 'k', page('p'));
    expect(cache.get('k')).toBeUndefined();
    feed.listener?.listening(true);
    const ticket = cache.ticket('i1');
    expect(ticket).not.toBeNull();
    cache.put(ticket, 'k', page('p'));
    expect(cache.get('k')?.toString()).toBe('p');
    expect(cache.stats()).toMatchObject({ hits: 1, pages: 1, bytes: 1, listening: true });
  });

  test("a change of an instance drops its pages, not other instances'", () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen);
    cache.ticket('i1');
    feed.listener?.listening(true);
    cache.put(cache.ticket('i1'), 'a1', page('a1'));
    cache.put(cache.ticket('i1'), 'a2', page('a2'));
    cache.put(cache.ticket('i2'), 'b1', page('b1'));
    feed.listener?.notify('i1');
    expect(cache.get('a1')).toBeUndefined();
    expect(cache.get('a2')).toBeUndefined();
    expect(cache.get('b1')?.toString()).toBe('b1');
    expect(cache.stats()).toMatchObject({ pages: 1, bytes: 2 });
  });

  test('a page read while its instance changed is not kept; one read after is', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen);
    cache.ticket('i1');
    feed.listener?.listening(true);
    const before = cache.ticket('i1');
    feed.listener?.notify('i1'); // committed while the page was being read
    cache.put(before, 'k', page('old'));
    expect(cache.get('k')).toBeUndefined();
    const after = cache.ticket('i1');
    cache.put(after, 'k', page('new'));
    expect(cache.get('k')?.toString()).toBe('new');
  });

  test('a lost feed drops everything, keeps nothing while lost, and a ticket from before the loss keeps nothing', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen);
    cache.ticket('i1');
    feed.listener?.listening(true);
    cache.put(cache.ticket('i1'), 'k', page('p'));
    const inFlight = cache.ticket('i1');
    feed.listener?.listening(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.ticket('i1')).toBeNull();
    feed.listener?.listening(true);
    cache.put(inFlight, 'k', page('stale'));
    expect(cache.get('k')).toBeUndefined();
    cache.put(cache.ticket('i1'), 'k', page('fresh'));
    expect(cache.get('k')?.toString()).toBe('fresh');
  });

  test('bytes are bounded: the least recently used page goes first; a page bigger than the bound is not kept', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen, { maxBytes: 10 });
    cache.ticket('i1');
    feed.listener?.listening(true);
    cache.put(cache.ticket('i1'), 'a', page('aaaa'));
    cache.put(cache.ticket('i1'), 'b', page('bbbb'));
    expect(cache.get('a')?.toString()).toBe('aaaa'); // a is now the most recent
    cache.put(cache.ticket('i1'), 'c', page('cccc'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.toString()).toBe('aaaa');
    expect(cache.get('c')?.toString()).toBe('cccc');
    cache.put(cache.ticket('i1'), 'huge', page('x'.repeat(11)));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.stats().bytes).toBe(8);
  });

  test('maxBytes 0 keeps nothing and opens no subscription', () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen, { maxBytes: 0 });
    expect(cache.ticket('i1')).toBeNull();
    expect(feed.listener).toBeNull();
  });

  test('a page older than maxAgeMs is read again even with no change heard', async () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen, { maxAgeMs: 20 });
    cache.ticket('i1');
    feed.listener?.listening(true);
    cache.put(cache.ticket('i1'), 'k', page('p'));
    expect(cache.get('k')).toBeDefined();
    await Bun.sleep(40);
    expect(cache.get('k')).toBeUndefined();
  });

  test('close stops the subscription and keeps nothing after', async () => {
    const { feed, listen } = manualFeed();
    const cache = new MessagePageCache(listen);
    cache.ticket('i1');
    feed.listener?.listening(true);
    cache.put(cache.ticket('i1'), 'k', page('p'));
    await cache.close();
    expect(feed.closed).toBe(1);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.ticket('i1')).toBeNull();
  });
});
