import type { ChannelId, RequestKind } from '../contract/channel-plugin.ts';
import type { RateLimitWait } from '../rate-limit/rate-limiter.ts';

/** How one platform request ended. `rate_limited`: the platform answered 429 (or its equivalent). */
export type PlatformRequestOutcome = 'ok' | 'rate_limited' | 'error';

/**
 * What the engine reports as it works, for an operator's metrics (the runtime implements it with
 * Prometheus counters; sync-core never imports a metrics library). Every method is called after the
 * fact and must not throw or block.
 *
 * @example
 * ```ts
 * const runner = new SyncRunner({ db, plugins, limiter, metrics: myMetrics });
 * ```
 */
export interface SyncMetrics {
  /** One request a plugin made through `ctx.request` finished. */
  platformRequest(event: {
    channel: ChannelId;
    kind: RequestKind;
    outcome: PlatformRequestOutcome;
    seconds: number;
  }): void;
  /** The engine held a request back: a token wait, a cooldown after a 429, or a transient backoff. */
  rateLimitWait(event: {
    channel: ChannelId;
    kind: RequestKind;
    reason: RateLimitWait['reason'];
    seconds: number;
  }): void;
  /** A batch of a messages job committed: the same numbers the job's progress gained. */
  batchCommitted(event: {
    channel: ChannelId;
    fetched: number;
    stored: number;
    duplicates: number;
    updated: number;
  }): void;
}

/** Metrics that go nowhere (the default). */
export const noopSyncMetrics: SyncMetrics = {
  platformRequest: () => {},
  rateLimitWait: () => {},
  batchCommitted: () => {},
};
