import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** A failure worth retrying with backoff (5xx, timeout, truncated body, phone offline). */
export class TransientError extends SyncError {
  override readonly name = 'TransientError';
  readonly code = 'TRANSIENT' as const;
  /** HTTP status where there was one. */
  readonly status: number | null;

  constructor(message: string, options: SyncErrorOptions & { status?: number | null } = {}) {
    super(message, options);
    this.status = options.status ?? null;
  }
}
