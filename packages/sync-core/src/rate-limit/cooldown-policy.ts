import type { RateLimitedError } from '../errors/rate-limited-error.ts';

/** Decides how long to cool down after a platform said "too fast". */
export interface CooldownPolicy {
  /**
   * @param error the platform's refusal (with `retryAfterMs` when it gave one)
   * @param consecutive how many refusals in a row for this (instance, platform), from 1
   * @returns milliseconds to wait before retrying the same request
   */
  delayMs(error: RateLimitedError, consecutive: number): number;
}

/** Options of {@link ExponentialCooldownPolicy}. */
export interface ExponentialCooldownOptions {
  /**
   * First cooldown when the platform gives no Retry-After, ms; doubled on each consecutive refusal.
   * @defaultValue 60000
   */
  baseMs?: number;
  /**
   * Longest cooldown, ms.
   * @defaultValue 900000 (15 min)
   */
  maxMs?: number;
  /**
   * Extra random wait as a fraction of the delay (0.1 = up to 10 % more), so many workers do not
   * retry in lockstep. Never shortens a Retry-After.
   * @defaultValue 0.1
   */
  jitterRatio?: number;
  /**
   * Random source in [0, 1).
   * @defaultValue Math.random
   */
  random?: () => number;
}

/** Defaults of {@link ExponentialCooldownOptions}. */
export const DEFAULT_EXPONENTIAL_COOLDOWN_OPTIONS = {
  baseMs: 60_000,
  maxMs: 15 * 60_000,
  jitterRatio: 0.1,
  random: Math.random,
} satisfies Required<ExponentialCooldownOptions>;

/** Retry-After when the platform gives one, else 60 s doubling per consecutive 429, capped, plus jitter. */
export class ExponentialCooldownPolicy implements CooldownPolicy {
  readonly #options: Required<ExponentialCooldownOptions>;

  constructor(options: ExponentialCooldownOptions = {}) {
    this.#options = { ...DEFAULT_EXPONENTIAL_COOLDOWN_OPTIONS, ...options };
  }

  delayMs(error: RateLimitedError, consecutive: number): number {
    const { baseMs, maxMs, jitterRatio, random } = this.#options;
    const base =
      error.retryAfterMs !== null && error.retryAfterMs >= 0
        ? error.retryAfterMs
        : Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(consecutive - 1, 0), 30));
    return Math.ceil(base + base * jitterRatio * random());
  }
}
