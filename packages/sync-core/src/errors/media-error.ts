import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** Why a media file was not stored. */
export type MediaFailureReason =
  | 'sha256-mismatch'
  | 'no-source'
  | 'download-failed'
  | 'write-failed'
  | 'message-not-found';

/** A media file could not be stored. `retryable` tells the media queue whether to try again. */
export class MediaError extends SyncError {
  override readonly name = 'MediaError';
  readonly code = 'MEDIA_REJECTED' as const;
  readonly reason: MediaFailureReason;
  readonly retryable: boolean;

  constructor(
    reason: MediaFailureReason,
    message: string,
    options: SyncErrorOptions & { retryable?: boolean } = {},
  ) {
    super(message, { ...options, details: { reason, ...options.details } });
    this.reason = reason;
    this.retryable = options.retryable ?? false;
  }
}
