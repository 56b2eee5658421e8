/** A limit of `limit` requests per window of `windowMs`. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

/** State of one bucket after a request was counted (or refused). */
export interface BucketVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Ms until the bucket resets. */
  resetAfterMs: number;
  /** UTC ms of the reset. */
  resetAtMs: number;
}

interface Bucket {
  count: number;
  resetAtMs: number;
}

/**
 * Discord-style fixed windows: a bucket's window starts with its first request and lasts
 * `windowMs`; the `limit + 1`-th request inside it is refused until the reset.
 */
export class RateLimitBuckets {
  readonly #buckets = new Map<string, Bucket>();

  /** Counts a request against bucket `key` under `rule` at `nowMs`. Refused requests are not counted. */
  take(key: string, rule: RateLimitRule, nowMs: number): BucketVerdict {
    let bucket = this.#buckets.get(key);
    if (!bucket || nowMs >= bucket.resetAtMs) {
      bucket = { count: 0, resetAtMs: nowMs + rule.windowMs };
      this.#buckets.set(key, bucket);
    }
    const allowed = bucket.count < rule.limit;
    if (allowed) bucket.count++;
    return {
      allowed,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - bucket.count),
      resetAfterMs: bucket.resetAtMs - nowMs,
      resetAtMs: bucket.resetAtMs,
    };
  }

  /** Forgets every bucket. */
  clear(): void {
    this.#buckets.clear();
  }
}
