import { SyncError } from './sync-error.ts';

/** The job was cancelled (or the process is shutting down); raised between batches. */
export class CancelledError extends SyncError {
  override readonly name = 'CancelledError';
  readonly code = 'CANCELLED' as const;
}
