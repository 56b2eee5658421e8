import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** Who a rate limit applies to. `global` = the whole account/token, `route` = one bucket, `ip` = Cloudflare. */
export type RateLimitScope = 'route' | 'global' | 'shared' | 'ip' | 'account';

/** The platform refused a request for being too fast. The engine cools down and retries the same page. */
export class RateLimitedError extends SyncError {
  override readonly name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED' as const;
  /** How long the platform asked us to wait, ms; `null` when it did not say (then 60 s doubling). */
  readonly retryAfterMs: number | null;
  readonly scope: RateLimitScope;

  constructor(
    message: string,
    options: SyncErrorOptions & { retryAfterMs?: number | null; scope?: RateLimitScope } = {},
  ) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.scope = options.scope ?? 'route';
  }
}
