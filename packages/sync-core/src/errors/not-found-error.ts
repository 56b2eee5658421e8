import { SyncError } from './sync-error.ts';

/** The chat, message or media asked for does not exist (or no longer does). */
export class NotFoundError extends SyncError {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND' as const;
}
