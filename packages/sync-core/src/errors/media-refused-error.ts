import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/**
 * Why the media fetcher refused a file: a URL scheme other than https, a host off the channel's
 * allowlist, an address in a private or special range, too many or bad redirects, too slow, too
 * big, or a type that is not stored. Counted per reason in `progress.mediaSkipReasons`.
 */
export type MediaRefusal = 'scheme' | 'host' | 'address' | 'redirect' | 'timeout' | 'size' | 'type';

/** Every {@link MediaRefusal}, in the order progress reports them. */
export const MEDIA_REFUSALS: readonly MediaRefusal[] = [
  'scheme',
  'host',
  'address',
  'redirect',
  'timeout',
  'size',
  'type',
];

/**
 * A media file was refused on purpose (see {@link MediaRefusal}); never retried. The media queue
 * marks the message's media skipped with `reason` and counts it.
 */
export class MediaRefusedError extends SyncError {
  override readonly name = 'MediaRefusedError';
  readonly code = 'MEDIA_REFUSED' as const;
  readonly reason: MediaRefusal;

  constructor(reason: MediaRefusal, message: string, options: SyncErrorOptions = {}) {
    super(message, { ...options, details: { reason, ...options.details } });
    this.reason = reason;
  }
}
