import { describe, expect, test } from 'bun:test';
import type { SettingKey, SettingValues } from '@omni/db';
import {
  CancelledError,
  ExponentialCooldownPolicy,
  fixedRateSource,
  PermanentError,
  RateLimitedError,
  RateLimiter,
  type RateLimitWait,
  settingsRateSource,
  TokenBucket,
  TransientError,
  VirtualClock,
} from '../src/index.ts';

const key = { instanceId: 'i1', channel: 'discord' as const };

describe('TokenBucket', () => {
  test('spaces tokens at the rate once the burst is used', () => {
    const b = new TokenBucket(60, 0);
    expect(b.reserve(0)).toBe(0);
    expect(b.reserve(0)).toBe(1000);
    expect(b.reserve(0)).toBe(2000);
    expect(b.reserve(5000)).toBe(0);
  });

  test('burst is one second of tokens and a rate change applies', () => {
    const b = new TokenBucket(600, 0);
    for (let i = 0; i < 10; i += 1) expect(b.reserve(0)).toBe(0);
    expect(b.reserve(0)).toBe(100);
    b.setRate(60, 0);
    expect(b.reserve(0)).toBe(2000);
  });
});

describe('ExponentialCooldownPolicy', () => {
  test('Retry-After wins; else 60 s doubling capped at 15 min; jitter only adds', () => {
    const p = new ExponentialCooldownPolicy({ random: () => 0 });
    expect(p.delayMs(new RateLimitedError('x', { retryAfterMs: 1500 }), 3)).toBe(1500);
    const none = new RateLimitedError('x');
    expect([1, 2, 3, 4, 5, 6].map((n) => p.delayMs(none, n))).toEqual([
      60_000, 120_000, 240_000, 480_000, 900_000, 900_000,
    ]);
    const j = new ExponentialCooldownPolicy({ random: () => 0.5, jitterRatio: 0.1 });
    expect(j.delayMs(none, 1)).toBe(63_000);
  });
});

describe('RateLimiter', () => {
  test('a request refused three times (429) is retried until it succeeds, never skipped', async () => {
    const clock = new VirtualClock(0);
    const limiter = new RateLimiter({
      rates: fixedRateSource({}),
      clock,
      cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
    });
    let calls = 0;
    const waits: RateLimitWait[] = [];
    const result = await limiter.request(
      key,
      'messages',
      async () => {
        calls += 1;
        if (calls <= 3) throw new RateLimitedError('429');
        return 'page';
      },
      { onWait: (w) => waits.push(w) },
    );
    expect(result).toBe('page');
    expect(calls).toBe(4);
    expect(waits.map((w) => [w.reason, w.ms])).toEqual([
      ['cooldown', 60_000],
      ['cooldown', 120_000],
      ['cooldown', 240_000],
    ]);
    expect(clock.now()).toBe(420_000);
    expect(limiter.stats('i1')).toEqual({ waits: 3, waitMs: 420_000, rateLimited: 3 });
  });

  test('the consecutive counter resets after a success; Retry-After is used when given', async () => {
    const clock = new VirtualClock(0);
    const limiter = new RateLimiter({
      rates: fixedRateSource({}),
      clock,
      cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
    });
    let n = 0;
    const flaky = async () => {
      n += 1;
      if (n % 2 === 1) throw new RateLimitedError('429');
      return n;
    };
    await limiter.request(key, 'messages', flaky);
    await limiter.request(key, 'messages', flaky);
    expect(clock.slept).toEqual([60_000, 60_000]);
    let first = true;
    await limiter.request(key, 'messages', async () => {
      if (first) {
        first = false;
        throw new RateLimitedError('429', { retryAfterMs: 2500 });
      }
      return 1;
    });
    expect(clock.slept.at(-1)).toBe(2500);
  });

  test('a cooldown blocks every kind of the same instance and platform, not other instances', async () => {
    const clock = new VirtualClock(0);
    const limiter = new RateLimiter({
      rates: fixedRateSource({}),
      clock,
      maxRateLimitRetries: 0,
      cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
    });
    const refused = await limiter
      .request(key, 'messages', async () => {
        throw new RateLimitedError('429', { retryAfterMs: 10_000 });
      })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(await limiter.pausedUntil(key)).toBe(10_000);
    const other: RateLimitWait[] = [];
    await limiter.request({ instanceId: 'i2', channel: 'discord' }, 'messages', async () => 1, {
      onWait: (w) => other.push(w),
    });
    expect(other).toEqual([]);
    const same: RateLimitWait[] = [];
    await limiter.request(key, 'contacts', async () => 1, { onWait: (w) => same.push(w) });
    expect(same).toEqual([
      {
        reason: 'cooldown',
        ms: 10_000,
        kind: 'contacts',
        key: { identity: 'discord:instance:i1', bucket: 'kind:contacts' },
        pausedIdentity: 'discord:instance:i1',
        pausedUntil: 10_000,
      },
    ]);
  });

  test('in one process too, a 429 pauses every instance on the same identity (bot token), not just its own', async () => {
    const clock = new VirtualClock(0);
    const limiter = new RateLimiter({
      rates: fixedRateSource({}),
      clock,
      maxRateLimitRetries: 0,
      cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
    });
    const identity = 'discord:token:abc';
    await limiter
      .request({ instanceId: 'a', channel: 'discord', identity }, 'messages', async () => {
        throw new RateLimitedError('429', { retryAfterMs: 4000 });
      })
      .catch(() => undefined);
    const waits: RateLimitWait[] = [];
    await limiter.request({ instanceId: 'b', channel: 'discord', identity }, 'messages', async () => 1, {
      onWait: (w) => waits.push(w),
    });
    expect(waits.map((w) => [w.reason, w.ms, w.pausedIdentity])).toEqual([['cooldown', 4000, identity]]);
  });

  test('token waits pace requests at the configured rate and are counted', async () => {
    const clock = new VirtualClock(0);
    let perMinute = 60;
    const settings = {
      get: async <K extends SettingKey>(k: K) =>
        (k === 'sync.discord.messagesPerMinute' ? perMinute : 100) as SettingValues[K],
    };
    const limiter = new RateLimiter({ rates: settingsRateSource(settings), clock });
    const waits: RateLimitWait[] = [];
    for (let i = 0; i < 4; i += 1)
      await limiter.request(key, 'messages', async () => i, { onWait: (w) => waits.push(w) });
    expect(clock.now()).toBe(3000);
    expect(waits).toHaveLength(3);
    expect(waits.every((w) => w.reason === 'token' && w.ms === 1000)).toBe(true);
    perMinute = 6000;
    const before = clock.now();
    for (let i = 0; i < 50; i += 1) await limiter.request(key, 'messages', async () => i);
    expect(clock.now() - before).toBeLessThan(1000);
  });

  test('transient errors are retried with backoff a bounded number of times', async () => {
    const clock = new VirtualClock(0);
    const limiter = new RateLimiter({
      rates: fixedRateSource({}),
      clock,
      maxTransientRetries: 3,
      random: () => 1,
    });
    let calls = 0;
    const ok = await limiter.request(key, 'messages', async () => {
      calls += 1;
      if (calls < 3) throw new TransientError('502');
      return 'ok';
    });
    expect(ok).toBe('ok');
    expect(clock.slept).toEqual([1000, 2000]);
    calls = 0;
    const err = await limiter
      .request(key, 'messages', async () => {
        calls += 1;
        throw new TransientError('503');
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(calls).toBe(4);
  });

  test('permanent errors are thrown at once', async () => {
    const limiter = new RateLimiter({ rates: fixedRateSource({}), clock: new VirtualClock(0) });
    let calls = 0;
    const err = await limiter
      .request(key, 'messages', async () => {
        calls += 1;
        throw new PermanentError('403');
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(calls).toBe(1);
  });

  test('an aborted signal ends a cooldown wait with CancelledError', async () => {
    const limiter = new RateLimiter({ rates: fixedRateSource({}) });
    const controller = new AbortController();
    const pending = limiter.request(
      key,
      'messages',
      async () => {
        throw new RateLimitedError('429', { retryAfterMs: 60_000 });
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 5);
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });
});
