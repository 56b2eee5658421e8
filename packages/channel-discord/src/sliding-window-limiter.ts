/**
 * At most `limit` requests in any window of `windowMs`, measured from the moment each request
 * *finished* (its answer was received, so it certainly reached the server) — which keeps the
 * server's own fixed windows from ever seeing `limit + 1` requests, whatever the latency. A
 * request in flight holds its slot. Waiters are served first come, first served.
 */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  /** Finish times of the last requests; `Infinity` while in flight. */
  readonly #slots: number[] = [];
  #tail: Promise<void> = Promise.resolve();
  #waiters: (() => void)[] = [];

  constructor(limit: number, windowMs: number) {
    if (limit < 1 || windowMs < 0) throw new RangeError('limit must be ≥ 1 and windowMs ≥ 0');
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /**
   * Waits for a slot; returns `release`, to be called once the request's answer (or error) is in.
   * Rejects with the signal's reason when aborted while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const turn = this.#tail.then(() => this.#waitForSlot(signal));
    this.#tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  async #waitForSlot(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = performance.now();
      while (this.#slots.length > 0 && this.#slots[0]! + this.#windowMs <= now) this.#slots.shift();
      if (this.#slots.length < this.#limit) break;
      const oldest = this.#slots[0]!;
      if (oldest === Number.POSITIVE_INFINITY) {
        await this.#slotChange();
      } else {
        await sleep(oldest + this.#windowMs - now, signal);
      }
    }
    this.#slots.push(Number.POSITIVE_INFINITY);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(performance.now());
    };
  }

  #slotChange(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #release(at: number): void {
    const i = this.#slots.indexOf(Number.POSITIVE_INFINITY);
    if (i >= 0) this.#slots[i] = at;
    this.#slots.sort((a, b) => a - b);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, Math.max(0, Math.ceil(ms)));
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
