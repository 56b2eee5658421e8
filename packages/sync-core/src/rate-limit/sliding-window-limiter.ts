/** A granted slot of a {@link SlidingWindowLimiter}. */
export interface LimiterGrant {
  /** How many slots were granted before this one (0-based). */
  sequence: number;
  /** Frees the slot's in-flight hold; the window counts from now. Idempotent. */
  release(): void;
}

interface Waiter {
  resolve(grant: LimiterGrant): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * At most `limit` requests in any window of `windowMs`, measured from the moment each request
 * *finished* (its answer was in, so it certainly reached the server) — so the server's own fixed
 * windows never see `limit + 1` requests, whatever the latency. A request in flight holds its
 * slot. Waiters are served first come, first served, `priority` ones before the others.
 */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  /** Finish times of recent requests, ascending; `Infinity` while in flight (kept at the end). */
  readonly #slots: number[] = [];
  readonly #high: Waiter[] = [];
  readonly #normal: Waiter[] = [];
  #granted = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(limit: number, windowMs: number) {
    if (limit < 1 || windowMs < 0) throw new RangeError('limit must be ≥ 1 and windowMs ≥ 0');
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Waits for a slot. Rejects with the signal's reason when aborted while waiting. */
  acquire(signal?: AbortSignal, priority = false): Promise<LimiterGrant> {
    return new Promise<LimiterGrant>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const queue = priority ? this.#high : this.#normal;
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal?.reason);
          this.#pump();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      queue.push(waiter);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const now = performance.now();
    while (this.#slots.length > 0 && this.#slots[0]! + this.#windowMs <= now) this.#slots.shift();
    while (this.#slots.length < this.#limit) {
      const waiter = this.#high.shift() ?? this.#normal.shift();
      if (!waiter) return;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.#slots.push(Number.POSITIVE_INFINITY);
      waiter.resolve(this.#grant());
    }
    if (this.#high.length + this.#normal.length === 0) return;
    const oldest = this.#slots[0]!;
    if (oldest !== Number.POSITIVE_INFINITY) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, Math.ceil(oldest + this.#windowMs - now)));
    }
  }

  #grant(): LimiterGrant {
    const sequence = this.#granted++;
    let released = false;
    return {
      sequence,
      release: () => {
        if (released) return;
        released = true;
        const i = this.#slots.indexOf(Number.POSITIVE_INFINITY);
        if (i >= 0) this.#slots.splice(i, 1);
        const at = performance.now();
        let j = this.#slots.length;
        while (j > 0 && this.#slots[j - 1]! > at) j--;
        this.#slots.splice(j, 0, at);
        this.#pump();
      },
    };
  }
}
