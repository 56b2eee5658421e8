import type { ChannelId, PluginContext, RequestKind } from '../contract/channel-plugin.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { type Clock, systemClock } from './clock.ts';
import { type CooldownPolicy, ExponentialCooldownPolicy } from './cooldown-policy.ts';
import { type RatePlatform, type RateSource, ratePlatformOf } from './rate-source.ts';
import { TokenBucket } from './token-bucket.ts';

/** A wait the limiter imposed: for a token, a cooldown after a refusal, or a transient retry. */
export interface RateLimitWait {
  reason: 'token' | 'cooldown' | 'transient';
  ms: number;
  kind: RequestKind;
}

/** Per-call hooks of {@link RateLimiter.request}. */
export interface RequestHooks {
  /** Aborts waits (job cancelled, shutdown). */
  signal?: AbortSignal;
  /** Called for every wait, so the runner counts `rateLimitWaits` / `rateLimitWaitMs`. */
  onWait?: (wait: RateLimitWait) => void;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Where rates come from (usually `settingsRateSource(settings)`). */
  rates: RateSource;
  /**
   * Time source.
   * @defaultValue systemClock
   */
  clock?: Clock;
  /**
   * Cooldown after `RateLimitedError`.
   * @defaultValue new ExponentialCooldownPolicy()
   */
  cooldown?: CooldownPolicy;
  /**
   * Retries of a request failing with `TransientError` before the error is thrown.
   * @defaultValue 5
   */
  maxTransientRetries?: number;
  /**
   * First backoff after a transient failure, ms; doubled per retry.
   * @defaultValue 1000
   */
  transientBaseDelayMs?: number;
  /**
   * Longest transient backoff, ms.
   * @defaultValue 30000
   */
  transientMaxDelayMs?: number;
  /**
   * Consecutive `RateLimitedError`s for one request before it is given up (the page is then not
   * marked done: the error reaches the runner). `Infinity` = keep cooling down and retrying.
   * @defaultValue Infinity
   */
  maxRateLimitRetries?: number;
  /**
   * Random source in [0, 1) for backoff jitter.
   * @defaultValue Math.random
   */
  random?: () => number;
}

/** Defaults of {@link RateLimiterOptions} (all but `rates`). */
export const DEFAULT_RATE_LIMITER_OPTIONS = {
  clock: systemClock,
  cooldown: new ExponentialCooldownPolicy(),
  maxTransientRetries: 5,
  transientBaseDelayMs: 1000,
  transientMaxDelayMs: 30_000,
  maxRateLimitRetries: Number.POSITIVE_INFINITY,
  random: Math.random,
} satisfies Required<Omit<RateLimiterOptions, 'rates'>>;

/** The instance a request is made for. */
export interface RateKey {
  instanceId: string;
  channel: ChannelId;
}

/** Totals of waits imposed on one instance since the limiter started. */
export interface RateLimitStats {
  waits: number;
  waitMs: number;
  rateLimited: number;
}

interface CooldownState {
  until: number;
  consecutive: number;
}

/**
 * Paces platform requests: a token bucket per (instance, platform, kind) with rates read from
 * settings on every request, and a cooldown of the whole (instance, platform) when the platform
 * refuses (Retry-After, else 60 s doubling, capped, with jitter). The refused request is retried,
 * never skipped. `TransientError`s are retried with exponential backoff a bounded number of times.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rates: settingsRateSource(settings) });
 * const page = await limiter.request({ instanceId, channel: 'discord' }, 'messages', () => api.get(url));
 * ```
 */
export class RateLimiter {
  readonly #options: Required<RateLimiterOptions>;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #cooldowns = new Map<string, CooldownState>();
  readonly #stats = new Map<string, RateLimitStats>();

  constructor(options: RateLimiterOptions) {
    this.#options = { ...DEFAULT_RATE_LIMITER_OPTIONS, ...options };
  }

  /** The clock the limiter waits on. */
  get clock(): Clock {
    return this.#options.clock;
  }

  /** Runs `fn` when the instance's budget allows, cooling down and retrying as described above. */
  async request<T>(
    key: RateKey,
    kind: RequestKind,
    fn: () => Promise<T>,
    hooks: RequestHooks = {},
  ): Promise<T> {
    const { clock } = this.#options;
    const platform = ratePlatformOf(key.channel);
    const cooldownKey = `${key.instanceId}:${platform}`;
    let transientRetries = 0;
    let rateLimitRetries = 0;
    for (;;) {
      await this.#waitCooldown(cooldownKey, key.instanceId, kind, hooks);
      await this.#takeToken(key.instanceId, platform, kind, hooks);
      // A cooldown may have started while this call waited for its token.
      await this.#waitCooldown(cooldownKey, key.instanceId, kind, hooks);
      try {
        const result = await fn();
        const state = this.#cooldowns.get(cooldownKey);
        if (state) state.consecutive = 0;
        return result;
      } catch (error) {
        if (error instanceof RateLimitedError) {
          rateLimitRetries += 1;
          this.#statsOf(key.instanceId).rateLimited += 1;
          const state = this.#cooldowns.get(cooldownKey) ?? { until: 0, consecutive: 0 };
          state.consecutive += 1;
          const delay = this.#options.cooldown.delayMs(error, state.consecutive);
          state.until = Math.max(state.until, clock.now() + delay);
          this.#cooldowns.set(cooldownKey, state);
          if (rateLimitRetries > this.#options.maxRateLimitRetries) throw error;
          continue;
        }
        if (error instanceof TransientError && transientRetries < this.#options.maxTransientRetries) {
          transientRetries += 1;
          const { transientBaseDelayMs, transientMaxDelayMs, random } = this.#options;
          const base = Math.min(transientMaxDelayMs, transientBaseDelayMs * 2 ** (transientRetries - 1));
          const ms = Math.ceil(base / 2 + (base / 2) * random());
          hooks.onWait?.({ reason: 'transient', ms, kind });
          await clock.sleep(ms, hooks.signal);
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * Records a refusal the platform gave outside `request` (e.g. thrown from inside a plugin's
   * history iterator) and waits out the resulting cooldown, so the caller can retry the same page.
   */
  async backoff(
    key: RateKey,
    kind: RequestKind,
    error: RateLimitedError,
    hooks: RequestHooks = {},
  ): Promise<void> {
    const cooldownKey = `${key.instanceId}:${ratePlatformOf(key.channel)}`;
    this.#statsOf(key.instanceId).rateLimited += 1;
    const state = this.#cooldowns.get(cooldownKey) ?? { until: 0, consecutive: 0 };
    state.consecutive += 1;
    state.until = Math.max(
      state.until,
      this.#options.clock.now() + this.#options.cooldown.delayMs(error, state.consecutive),
    );
    this.#cooldowns.set(cooldownKey, state);
    await this.#waitCooldown(cooldownKey, key.instanceId, kind, hooks);
  }

  /** A `PluginContext.request` bound to one instance and job. */
  bind(key: RateKey, hooks: RequestHooks = {}): PluginContext['request'] {
    return (kind, fn) => this.request(key, kind, fn, hooks);
  }

  /** Waits imposed on an instance so far. */
  stats(instanceId: string): RateLimitStats {
    return { ...this.#statsOf(instanceId) };
  }

  /** When the (instance, platform) cooldown ends, ms epoch; 0 when none. */
  cooldownUntil(instanceId: string, channel: ChannelId): number {
    return this.#cooldowns.get(`${instanceId}:${ratePlatformOf(channel)}`)?.until ?? 0;
  }

  /** Drops the state kept for an instance (deleted or disconnected). */
  forget(instanceId: string): void {
    for (const map of [this.#buckets, this.#cooldowns, this.#stats]) {
      for (const key of map.keys())
        if (key.startsWith(`${instanceId}:`) || key === instanceId) map.delete(key);
    }
  }

  async #waitCooldown(cooldownKey: string, instanceId: string, kind: RequestKind, hooks: RequestHooks) {
    const { clock } = this.#options;
    for (;;) {
      const until = this.#cooldowns.get(cooldownKey)?.until ?? 0;
      const ms = until - clock.now();
      if (ms <= 0) return;
      this.#count(instanceId, ms);
      hooks.onWait?.({ reason: 'cooldown', ms, kind });
      await clock.sleep(ms, hooks.signal);
    }
  }

  async #takeToken(instanceId: string, platform: RatePlatform, kind: RequestKind, hooks: RequestHooks) {
    const { clock } = this.#options;
    const perMinute = await this.#options.rates.perMinute(platform, kind);
    if (perMinute === null || !(perMinute > 0) || !Number.isFinite(perMinute)) return;
    const bucketKey = `${instanceId}:${platform}:${kind}`;
    let bucket = this.#buckets.get(bucketKey);
    if (!bucket) {
      bucket = new TokenBucket(perMinute, clock.now());
      this.#buckets.set(bucketKey, bucket);
    } else {
      bucket.setRate(perMinute, clock.now());
    }
    const ms = bucket.reserve(clock.now());
    if (ms <= 0) return;
    this.#count(instanceId, ms);
    hooks.onWait?.({ reason: 'token', ms, kind });
    await clock.sleep(ms, hooks.signal);
  }

  #count(instanceId: string, ms: number): void {
    const stats = this.#statsOf(instanceId);
    stats.waits += 1;
    stats.waitMs += ms;
  }

  #statsOf(instanceId: string): RateLimitStats {
    let stats = this.#stats.get(instanceId);
    if (!stats) {
      stats = { waits: 0, waitMs: 0, rateLimited: 0 };
      this.#stats.set(instanceId, stats);
    }
    return stats;
  }
}
