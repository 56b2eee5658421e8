/** Stable codes of every error `@omni/sync-core` and its plugins raise. */
export type SyncErrorCode =
  | 'RATE_LIMITED'
  | 'AUTH_FAILED'
  | 'NOT_FOUND'
  | 'TRANSIENT'
  | 'PERMANENT'
  | 'CANCELLED'
  | 'MEDIA_REJECTED'
  | 'MEDIA_REFUSED'
  | 'INVALID_INPUT'
  | 'JOB_NOT_FOUND'
  | 'INSTANCE_NOT_FOUND'
  | 'JOB_STATE_CONFLICT'
  | 'JOB_QUEUE_FULL'
  | 'LEASE_LOST'
  | 'PLUGIN_NOT_FOUND';

/** Options every {@link SyncError} takes. */
export interface SyncErrorOptions {
  cause?: unknown;
  /** Facts a caller may need (route, chat id, limits…). */
  details?: Record<string, unknown>;
}

/** Base of the sync-core error hierarchy: a stable `code`, the `cause`, and details. */
export abstract class SyncError extends Error {
  abstract readonly code: SyncErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
  }
}

/** True when `error` belongs to the sync-core hierarchy. */
export function isSyncError(error: unknown): error is SyncError {
  return error instanceof SyncError;
}
