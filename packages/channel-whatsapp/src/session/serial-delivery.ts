/** Options of {@link SerialDelivery}. */
export interface SerialDeliveryOptions<T> {
  /** Delay before the second attempt, ms; doubles per attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  /** Longest delay between two attempts, ms. */
  retryMaxMs: number;
  /**
   * Called on each failed attempt. `lost` only once the delivery was stopped ({@link stop}) and
   * the item's last attempt failed: nothing is given up while the delivery runs.
   */
  onFailure(item: T, error: unknown, attempt: number, lost: boolean): void;
}

/**
 * Hands items to an async consumer one at a time, in order, awaiting each (back-pressure), and
 * retries a failing delivery with a growing delay (capped) until the consumer accepts it: no timer
 * gives an item up. Once stopped, what is still queued gets one attempt each, without waiting.
 */
export class SerialDelivery<T> {
  readonly #deliver: (item: T) => Promise<void>;
  readonly #options: SerialDeliveryOptions<T>;
  #tail: Promise<void> = Promise.resolve();
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(deliver: (item: T) => Promise<void>, options: SerialDeliveryOptions<T>) {
    this.#deliver = deliver;
    this.#options = options;
  }

  /**
   * Queues an item built lazily when its turn comes (so it sees everything learnt before it); a
   * `null` item turned out to have nothing to deliver and is skipped.
   */
  enqueue(make: () => T | null | Promise<T | null>): void {
    this.#tail = this.#tail.then(async () => {
      const item = await make();
      if (item !== null) await this.#run(item);
    });
  }

  /** Resolves when everything queued so far was delivered (or, once stopped, attempted). */
  idle(): Promise<void> {
    return this.#tail;
  }

  /** Stops retrying: a waiting retry is tried once more now, later items once each. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  /** Retries again after a {@link stop} (the session was started again). */
  resume(): void {
    this.#stopped = false;
  }

  async #run(item: T): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const last = this.#stopped;
      try {
        await this.#deliver(item);
        return;
      } catch (error) {
        this.#options.onFailure(item, error, attempt, last);
        if (last) return;
        const delay = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (attempt - 1));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }
}
