/**
 * A token bucket: `capacity` tokens, refilled continuously at `perMinute`. Reservations may drive
 * the balance negative, so concurrent callers queue in order instead of racing for the same token.
 *
 * @example
 * ```ts
 * const bucket = new TokenBucket(50, Date.now());
 * const waitMs = bucket.reserve(Date.now()); // 0 while tokens are left
 * ```
 */
export class TokenBucket {
  #perMinute: number;
  #capacity: number;
  #tokens: number;
  #updatedAt: number;

  /**
   * @param perMinute refill rate, tokens per minute (> 0)
   * @param now current time, ms
   * @param capacity burst size; defaults to one second's worth of tokens, at least 1
   */
  constructor(perMinute: number, now: number, capacity?: number) {
    this.#perMinute = perMinute;
    this.#capacity = capacity ?? TokenBucket.defaultCapacity(perMinute);
    this.#tokens = this.#capacity;
    this.#updatedAt = now;
  }

  /** One second's worth of tokens, at least one. */
  static defaultCapacity(perMinute: number): number {
    return Math.max(1, Math.floor(perMinute / 60));
  }

  /** Tokens per minute. */
  get perMinute(): number {
    return this.#perMinute;
  }

  /** Changes the refill rate (a changed setting applies without restart). */
  setRate(perMinute: number, now: number): void {
    if (perMinute === this.#perMinute) return;
    this.#refill(now);
    this.#perMinute = perMinute;
    this.#capacity = TokenBucket.defaultCapacity(perMinute);
    this.#tokens = Math.min(this.#tokens, this.#capacity);
  }

  /** Takes one token; returns how long (ms) the caller must wait before using it (0 = now). */
  reserve(now: number): number {
    this.#refill(now);
    this.#tokens -= 1;
    if (this.#tokens >= 0) return 0;
    return Math.ceil((-this.#tokens * 60_000) / this.#perMinute);
  }

  /** Tokens available now (negative while callers are queued). */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  #refill(now: number): void {
    const elapsed = now - this.#updatedAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#perMinute) / 60_000);
      this.#updatedAt = now;
    }
  }
}
