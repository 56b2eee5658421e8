import { describe, expect, test } from 'bun:test';
import { SlidingWindowLimiter } from '../src/index.ts';

/** Resolves after pending microtasks and timers of 0 ms have run. */
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SlidingWindowLimiter', () => {
  test('a request in flight holds its slot until released', async () => {
    const limiter = new SlidingWindowLimiter(2, 0);
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    let third = false;
    const c = limiter.acquire().then((g) => {
      third = true;
      return g;
    });
    await tick();
    expect(third).toBe(false);
    a.release();
    expect((await c).sequence).toBe(2);
    expect(third).toBe(true);
    b.release();
  });

  test('priority waiters go before earlier ordinary ones; equal ones first come, first served', async () => {
    const limiter = new SlidingWindowLimiter(1, 0);
    const first = await limiter.acquire();
    const order: string[] = [];
    const wait = (name: string, priority: boolean) =>
      limiter.acquire(undefined, priority).then((g) => {
        order.push(name);
        g.release();
      });
    const all = Promise.all([wait('n1', false), wait('n2', false), wait('p1', true), wait('p2', true)]);
    await tick();
    first.release();
    await all;
    expect(order).toEqual(['p1', 'p2', 'n1', 'n2']);
  });

  test('the window counts from the release: a slot stays taken for windowMs after it', async () => {
    const limiter = new SlidingWindowLimiter(1, 60_000);
    (await limiter.acquire()).release();
    const abort = new AbortController();
    const next = limiter.acquire(abort.signal);
    await tick();
    abort.abort(new Error('stop'));
    await expect(next).rejects.toThrow('stop');
  });

  test('an aborted waiter leaves the queue; the next one gets the slot', async () => {
    const limiter = new SlidingWindowLimiter(1, 0);
    const held = await limiter.acquire();
    const abort = new AbortController();
    const gone = limiter.acquire(abort.signal);
    const kept = limiter.acquire();
    abort.abort(new Error('cancelled'));
    await expect(gone).rejects.toThrow('cancelled');
    held.release();
    expect((await kept).sequence).toBe(1);
  });

  test('rejects impossible limits', () => {
    expect(() => new SlidingWindowLimiter(0, 10)).toThrow(RangeError);
  });
});
