import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** A failure that retrying will not fix (403 missing access, malformed request). */
export class PermanentError extends SyncError {
  override readonly name = 'PermanentError';
  readonly code = 'PERMANENT' as const;
  /** HTTP status where there was one. */
  readonly status: number | null;

  constructor(message: string, options: SyncErrorOptions & { status?: number | null } = {}) {
    super(message, options);
    this.status = options.status ?? null;
  }
}
