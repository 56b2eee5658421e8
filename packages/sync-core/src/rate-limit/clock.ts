import { CancelledError } from '../errors/cancelled-error.ts';

/** Time as the engine sees it; injected so tests never really wait. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with `CancelledError` when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function aborted(signal: AbortSignal): CancelledError {
  return new CancelledError('aborted while waiting', { cause: signal.reason });
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(aborted(signal));
      if (ms <= 0) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        reject(aborted(signal as AbortSignal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * A clock whose `sleep` returns at once and moves virtual time forward, for tests of cooldowns
 * that would take minutes. `slept` records every requested sleep.
 */
export class VirtualClock implements Clock {
  #now: number;
  /** Every sleep requested, ms, in order. */
  readonly slept: number[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw aborted(signal);
    this.slept.push(ms);
    if (ms > 0) this.#now += ms;
    await Promise.resolve();
  }

  /** Moves time forward without sleeping. */
  advance(ms: number): void {
    this.#now += ms;
  }
}
