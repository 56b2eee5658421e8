import type { ChannelId, PluginContext, RequestKind } from '../contract/channel-plugin.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { type Clock, systemClock } from './clock.ts';
import { type CooldownPolicy, ExponentialCooldownPolicy } from './cooldown-policy.ts';
import { MemoryBudgetStore } from './memory-budget-store.ts';
import type { BudgetKey, BudgetRule, BudgetWait, RateBudget } from './rate-budget.ts';
import { type RateSource, ratePlatformOf } from './rate-source.ts';
import { SharedRateBudget } from './shared-rate-budget.ts';
import { TokenBucket } from './token-bucket.ts';
import { withWaitScope } from './wait-scope.ts';

/** A wait the limiter imposed: for a token, a cooldown after a refusal, or a transient retry. */
export interface RateLimitWait {
  reason: 'token' | 'cooldown' | 'transient';
  ms: number;
  kind: RequestKind;
  /** The budget bucket waited on (token and cooldown waits, also those deep inside a plugin). */
  key?: BudgetKey;
  /** The paused identity (cooldown waits). */
  pausedIdentity?: string;
  /** When that pause ends, ms epoch (cooldown waits): the whole wait, not just this sleep. */
  pausedUntil?: number;
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
   * The shared budget the buckets and cooldowns live in. Production wires
   * `new SharedRateBudget(new PostgresBudgetStore(db))` so every process shares one budget per
   * platform identity; the default keeps it in this process only.
   * @defaultValue new SharedRateBudget(new MemoryBudgetStore(clock), { clock })
   */
  budget?: RateBudget;
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

/** Defaults of {@link RateLimiterOptions} (all but `rates` and `budget`). */
export const DEFAULT_RATE_LIMITER_OPTIONS = {
  clock: systemClock,
  cooldown: new ExponentialCooldownPolicy(),
  maxTransientRetries: 5,
  transientBaseDelayMs: 1000,
  transientMaxDelayMs: 30_000,
  maxRateLimitRetries: Number.POSITIVE_INFINITY,
  random: Math.random,
} satisfies Required<Omit<RateLimiterOptions, 'rates' | 'budget'>>;

/** The instance a request is made for. */
export interface RateKey {
  instanceId: string;
  channel: ChannelId;
  /**
   * What the platform limits (see `rateIdentity`): instances on one bot token share it.
   * @defaultValue `<channel>:instance:<instanceId>`
   */
  identity?: string;
}

/** Totals of waits imposed on one instance since the limiter started. */
export interface RateLimitStats {
  waits: number;
  waitMs: number;
  rateLimited: number;
}

/** The rule of a rate of `perMinute`: a burst of one second's worth (at least 1), then the rate. */
export function perMinuteRule(perMinute: number): BudgetRule {
  const limit = TokenBucket.defaultCapacity(perMinute);
  return { limit, windowMs: (limit * 60_000) / perMinute, countFrom: 'start' };
}

/**
 * Paces platform requests through a shared {@link RateBudget}: a bucket per (platform identity,
 * kind) at the rate the settings give (read on every request, so changes apply at once), and a
 * pause of the whole identity — for every process sharing the budget — when the platform refuses
 * (Retry-After, else 60 s doubling, capped, with jitter). The refused request is retried, never
 * skipped. `TransientError`s are retried with exponential backoff a bounded number of times.
 * Waits inside `fn` (a plugin's own budget takes) are reported to the same hooks.
 *
 * A refusal with scope `ip` (a Cloudflare ban) is the plugin's to pause: it pauses the host's
 * IP identity as a probed ban (`PauseRequest.probe`) in the same budget and its takes wait on
 * it; the limiter only retries.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ rates: settingsRateSource(settings), budget });
 * const page = await limiter.request({ instanceId, channel: 'discord', identity }, 'messages', () => api.get(url));
 * ```
 */
export class RateLimiter {
  readonly #options: Required<Omit<RateLimiterOptions, 'budget'>>;
  readonly budget: RateBudget;
  /** Consecutive refusals per identity (this process's view; only for the no-Retry-After doubling). */
  readonly #consecutive = new Map<string, number>();
  readonly #stats = new Map<string, RateLimitStats>();

  constructor(options: RateLimiterOptions) {
    const { budget, ...rest } = options;
    this.#options = { ...DEFAULT_RATE_LIMITER_OPTIONS, ...rest };
    this.budget =
      budget ??
      new SharedRateBudget(new MemoryBudgetStore(this.#options.clock), { clock: this.#options.clock });
  }

  /** The clock the limiter waits on. */
  get clock(): Clock {
    return this.#options.clock;
  }

  /** Runs `fn` when the identity's budget allows, cooling down and retrying as described above. */
  async request<T>(
    key: RateKey,
    kind: RequestKind,
    fn: () => Promise<T>,
    hooks: RequestHooks = {},
  ): Promise<T> {
    const { clock } = this.#options;
    const identity = identityOf(key);
    const scope = this.#scope(key.instanceId, kind, hooks);
    let transientRetries = 0;
    let rateLimitRetries = 0;
    for (;;) {
      await this.#take(identity, key.channel, kind, scope);
      try {
        const result = await withWaitScope(scope, fn);
        this.#consecutive.delete(identity);
        return result;
      } catch (error) {
        if (error instanceof RateLimitedError) {
          rateLimitRetries += 1;
          await this.#refused(key, identity, error);
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
   * history iterator) and waits out the resulting pause, so the caller can retry the same page.
   */
  async backoff(
    key: RateKey,
    kind: RequestKind,
    error: RateLimitedError,
    hooks: RequestHooks = {},
  ): Promise<void> {
    const identity = identityOf(key);
    await this.#refused(key, identity, error);
    await this.budget.take(
      { identity, bucket: `kind:${kind}` },
      null,
      this.#scope(key.instanceId, kind, hooks),
    );
  }

  /** A `PluginContext.request` bound to one instance and job. */
  bind(key: RateKey, hooks: RequestHooks = {}): PluginContext['request'] {
    return (kind, fn) => this.request(key, kind, fn, hooks);
  }

  /** Waits imposed on an instance so far. */
  stats(instanceId: string): RateLimitStats {
    return { ...this.#statsOf(instanceId) };
  }

  /** When the pause of an instance's identity ends, ms epoch (the budget's clock); 0 when none. */
  async pausedUntil(key: RateKey): Promise<number> {
    return (await this.budget.pauseOf(identityOf(key)))?.untilMs ?? 0;
  }

  /** Drops the counters kept for an instance (deleted or disconnected). */
  forget(instanceId: string): void {
    this.#stats.delete(instanceId);
  }

  async #refused(key: RateKey, identity: string, error: RateLimitedError): Promise<void> {
    this.#statsOf(key.instanceId).rateLimited += 1;
    if (error.scope === 'ip') return;
    const consecutive = (this.#consecutive.get(identity) ?? 0) + 1;
    this.#consecutive.set(identity, consecutive);
    const ms = this.#options.cooldown.delayMs(error, consecutive);
    await this.budget.pause(identity, { ms, reason: `${ratePlatformOf(key.channel)}: ${error.message}` });
  }

  async #take(
    identity: string,
    channel: ChannelId,
    kind: RequestKind,
    scope: { signal?: AbortSignal; onWait: (wait: BudgetWait) => void },
  ): Promise<void> {
    const perMinute = await this.#options.rates.perMinute(ratePlatformOf(channel), kind);
    const rule =
      perMinute === null || !(perMinute > 0) || !Number.isFinite(perMinute) ? null : perMinuteRule(perMinute);
    await this.budget.take({ identity, bucket: `kind:${kind}` }, rule, {
      ...(scope.signal ? { signal: scope.signal } : {}),
      onWait: scope.onWait,
    });
  }

  /** The hooks a budget wait is reported through: counted on the instance, told to the job. */
  #scope(instanceId: string, kind: RequestKind, hooks: RequestHooks) {
    const onWait = (wait: BudgetWait) => {
      const stats = this.#statsOf(instanceId);
      stats.waits += 1;
      stats.waitMs += wait.ms;
      hooks.onWait?.({
        reason: wait.reason === 'slot' ? 'token' : 'cooldown',
        ms: wait.ms,
        kind,
        key: wait.key,
        ...(wait.pausedIdentity !== undefined ? { pausedIdentity: wait.pausedIdentity } : {}),
        ...(wait.pausedUntil !== undefined ? { pausedUntil: wait.pausedUntil } : {}),
      });
    };
    return { ...(hooks.signal ? { signal: hooks.signal } : {}), onWait };
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

function identityOf(key: RateKey): string {
  return key.identity ?? `${key.channel}:instance:${key.instanceId}`;
}
