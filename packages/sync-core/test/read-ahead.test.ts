import { describe, expect, test } from 'bun:test';
import { readAhead } from '../src/runner/read-ahead.ts';

/** A source that records every item asked for; item `blockAt` never comes. */
function source(count: number, options: { failAt?: number; blockAt?: number } = {}) {
  const asked: number[] = [];
  let closed = false;
  async function* items(): AsyncGenerator<number> {
    try {
      for (let i = 1; i <= count; i++) {
        asked.push(i);
        if (i === options.blockAt) await new Promise(() => {});
        if (i === options.failAt) throw new Error(`item ${i} failed`);
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  return { items: items(), asked, closed: () => closed };
}

describe('readAhead', () => {
  test('hands out every item in order, and asks for the next one before the current is handled', async () => {
    const s = source(4);
    const seen: { item: number; askedWhileHandling: number[] }[] = [];
    for await (const item of readAhead(s.items)) {
      await Bun.sleep(1);
      seen.push({ item, askedWhileHandling: [...s.asked] });
    }
    expect(seen.map((x) => x.item)).toEqual([1, 2, 3, 4]);
    // While item k is handled, item k + 1 has already been asked for (and no further).
    expect(seen.map((x) => x.askedWhileHandling.at(-1))).toEqual([2, 3, 4, 4]);
    expect(s.closed()).toBe(true);
  });

  test("an item's error surfaces after the item before it was handled", async () => {
    const s = source(5, { failAt: 3 });
    const handled: number[] = [];
    const run = async () => {
      for await (const item of readAhead(s.items)) handled.push(item);
    };
    await expect(run()).rejects.toThrow('item 3 failed');
    expect(handled).toEqual([1, 2]);
  });

  test('a caller that stops early is not held up by the item in flight, and the source is closed after it', async () => {
    const s = source(5, { blockAt: 2 });
    const handled: number[] = [];
    for await (const item of readAhead(s.items)) {
      handled.push(item);
      break;
    }
    expect(handled).toEqual([1]);
    expect(s.asked).toEqual([1, 2]);
    // The source is still blocked on item 2: it is closed only once that settles, never awaited here.
    expect(s.closed()).toBe(false);
  });

  test('a handler that throws leaves the error as it is', async () => {
    const s = source(3);
    const run = async () => {
      for await (const item of readAhead(s.items)) if (item === 2) throw new Error('store failed');
    };
    await expect(run()).rejects.toThrow('store failed');
    await Bun.sleep(1);
    expect(s.closed()).toBe(true);
  });
});
