/** Options of {@link SerialDelivery}. */
export interface SerialDeliveryOptions<T> {
  /** Attempts per item (≥ 1). */
  attempts: number;
  /** Delay before the second attempt, ms; doubles per attempt. */
  retryBaseMs: number;
  /** Called on each failed attempt; `lost` on the last one. */
  onFailure(item: T, error: unknown, attempt: number, lost: boolean): void;
}

/**
 * Hands items to an async consumer one at a time, in order, awaiting each (back-pressure), and
 * retries a failing delivery with backoff before giving the item up.
 */
export class SerialDelivery<T> {
  readonly #deliver: (item: T) => Promise<void>;
  readonly #options: SerialDeliveryOptions<T>;
  #tail: Promise<void> = Promise.resolve();

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

  /** Resolves when everything queued so far was delivered or given up. */
  idle(): Promise<void> {
    return this.#tail;
  }

  async #run(item: T): Promise<void> {
    const attempts = Math.max(1, this.#options.attempts);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.#deliver(item);
        return;
      } catch (error) {
        const lost = attempt === attempts;
        this.#options.onFailure(item, error, attempt, lost);
        if (lost) return;
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryBaseMs * 2 ** (attempt - 1)));
      }
    }
  }
}
