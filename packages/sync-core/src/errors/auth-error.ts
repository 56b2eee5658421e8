import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** Credentials were refused or are missing (Discord 401, WhatsApp logged out). Not retried. */
export class AuthError extends SyncError {
  override readonly name = 'AuthError';
  readonly code = 'AUTH_FAILED' as const;
  /** HTTP status where there was one. */
  readonly status: number | null;

  constructor(message: string, options: SyncErrorOptions & { status?: number | null } = {}) {
    super(message, options);
    this.status = options.status ?? null;
  }
}
