import { createHmac } from 'node:crypto';

/** Outcome of checking a CDN URL. */
export type AttachmentUrlState = 'valid' | 'expired' | 'invalid';

/**
 * Signs attachment URLs the way Discord's CDN does (`?ex=<hex s>&is=<hex s>&hm=<hmac>`). A URL is
 * valid until `ex`, and until {@link AttachmentSigner.revokeAll} (which tests use to expire every
 * URL handed out so far at once); `POST /attachments/refresh-urls` signs the path again.
 */
export class AttachmentSigner {
  readonly #secret: string;
  readonly #ttlMs: number;
  #generation = 0;

  constructor(secret: string, ttlMs: number) {
    this.#secret = secret;
    this.#ttlMs = ttlMs;
  }

  #mac(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.#secret).update(`${this.#generation}|${path}|${ex}|${is}`).digest('hex');
  }

  /** A signed URL for `path` on `origin`, issued at `nowMs`. */
  sign(origin: string, path: string, nowMs: number): string {
    const is = Math.floor(nowMs / 1000).toString(16);
    const ex = Math.floor((nowMs + this.#ttlMs) / 1000).toString(16);
    return `${origin}${path}?ex=${ex}&is=${is}&hm=${this.#mac(path, ex, is)}`;
  }

  /** Whether `url` (path and query) is currently valid. */
  check(url: URL, nowMs: number): AttachmentUrlState {
    const ex = url.searchParams.get('ex');
    const is = url.searchParams.get('is');
    const hm = url.searchParams.get('hm');
    if (!ex || !is || !hm) return 'invalid';
    if (hm !== this.#mac(url.pathname, ex, is)) return 'expired';
    return Number.parseInt(ex, 16) * 1000 > nowMs ? 'valid' : 'expired';
  }

  /** Every URL signed so far stops working (404) until refreshed. */
  revokeAll(): void {
    this.#generation++;
  }
}
