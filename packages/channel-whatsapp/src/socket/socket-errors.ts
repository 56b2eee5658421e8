import { RateLimitedError, TransientError } from '@omni/sync-core';
import { disconnectStatusOf } from '../connection/reconnect-backoff.ts';

/** WhatsApp's "rate-overlimit" answer (a Boom with status 429 in Baileys). */
export function isRateOverlimit(error: unknown): boolean {
  if (disconnectStatusOf(error) === 429) return true;
  return error instanceof Error && /rate-overlimit/i.test(error.message);
}

/**
 * Translates a failure of a socket request into the sync-core hierarchy: rate-overlimit →
 * `RateLimitedError` (the engine cools down — 60 s doubling, WhatsApp sends no Retry-After — and
 * asks again), timeouts and closed connections → `TransientError`; anything else unchanged.
 */
export function translateSocketError(error: unknown, what: string): unknown {
  if (isRateOverlimit(error)) {
    return new RateLimitedError(`WhatsApp refused ${what}: rate-overlimit`, {
      cause: error,
      scope: 'account',
    });
  }
  const status = disconnectStatusOf(error);
  if (
    status === 408 ||
    status === 428 ||
    (error instanceof Error && /timed out|connection closed/i.test(error.message))
  ) {
    return new TransientError(
      `WhatsApp ${what} failed: ${error instanceof Error ? error.message : 'timeout'}`,
      {
        cause: error,
        status,
      },
    );
  }
  return error;
}
