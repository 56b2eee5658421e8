import type { IncomingHttpHeaders } from 'node:http';
import type { SettingsService } from '@omni/db';
import { CancelledError } from '../errors/cancelled-error.ts';
import { MediaRefusedError } from '../errors/media-refused-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { type OpenExchange, openExchange } from './media-exchange.ts';
import { parseAllowOrigins } from './media-host-policy.ts';
import { checkMediaUrl, type HostResolver, systemResolver } from './media-url-check.ts';

/** What a channel says about one download. */
export interface MediaFetchInit {
  /** Hosts the channel's media lives on: exact names or `*.suffix` wildcards. */
  allowedHosts: readonly string[];
  /** Cancel, lease loss or shutdown: aborts the download wherever it is (`CancelledError`). */
  signal?: AbortSignal | null;
  /** Request headers; `Authorization` and `Cookie` are dropped when a redirect leaves the origin. */
  headers?: Record<string, string>;
}

/** Options of {@link MediaFetcher}. */
export interface MediaFetcherOptions {
  /** Read per download: `media.downloadTimeoutSeconds` (deadline) and `media.maxFileSizeMb` (size cap). */
  settings?: Pick<SettingsService, 'get'> | null;
  /**
   * Origins (`scheme://host:port`) taken as they are, without scheme, host or address checks:
   * test fakes and private mirrors. Compared as origins, never as string prefixes.
   * @defaultValue `MEDIA_ALLOW_ORIGINS` (comma-separated), else none
   */
  allowOrigins?: readonly string[];
  /**
   * Resolves host names; every address it gives must be public, and the connection goes to the
   * first one. Tests map names here (no DNS).
   * @defaultValue systemResolver
   */
  resolve?: HostResolver;
  /**
   * Time to open the TCP connection, ms.
   * @defaultValue 10_000
   */
  connectTimeoutMs?: number;
  /**
   * Longest wait for any byte (response headers or body) once connected, ms.
   * @defaultValue 30_000
   */
  idleTimeoutMs?: number;
  /**
   * Total time of one download, redirects and body included, ms; overrides `media.downloadTimeoutSeconds`.
   * @defaultValue null (the setting, else 120 s)
   */
  deadlineMs?: number | null;
  /**
   * Largest body, bytes; overrides `media.maxFileSizeMb` (which gets {@link SIZE_SLACK_BYTES} on
   * top, for container framing such as WhatsApp's padding and MAC).
   * @defaultValue null (the setting, else 100 MiB)
   */
  maxBytes?: number | null;
  /**
   * Redirects followed, each checked like a new URL.
   * @defaultValue 3
   */
  maxRedirects?: number;
  /**
   * Extra CA certificates (PEM) trusted besides the system's (tests with a local TLS server).
   * @defaultValue null
   */
  ca?: string | Buffer | null;
}

/** Defaults of {@link MediaFetcherOptions} (`allowOrigins` comes from `MEDIA_ALLOW_ORIGINS`). */
export const DEFAULT_MEDIA_FETCHER_OPTIONS = {
  settings: null,
  allowOrigins: [],
  resolve: systemResolver,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  deadlineMs: null,
  maxBytes: null,
  maxRedirects: 3,
  ca: null,
} satisfies Required<MediaFetcherOptions>;

/** Bytes allowed over `media.maxFileSizeMb` on the wire (encryption padding, MAC, container framing). */
export const SIZE_SLACK_BYTES = 64 * 1024;

const FALLBACK_DEADLINE_SECONDS = 120;
const FALLBACK_MAX_MB = 100;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([204, 205, 304]);
const CROSS_ORIGIN_DROPPED = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * The one way media bytes enter the service (DESIGN.md invariant 11). Every channel's
 * `downloadMedia` fetches through it, with its own host allowlist:
 *
 * - **https only**, default port, on a host of the channel's allowlist;
 * - the host's resolved addresses (or an address spelled in the URL, in any notation) must all be
 *   public: loopback, private, link-local, CGNAT, unique-local, multicast, reserved, `0.0.0.0`
 *   and cloud metadata addresses are refused, IPv4-mapped and NAT64 IPv6 judged by their IPv4;
 * - the connection is opened **to the address that was checked** (no second lookup), with the
 *   URL's host as TLS server name and `Host`;
 * - redirects are followed up to `maxRedirects` hops, each checked again like a new URL;
 * - connect timeout, idle timeout (no byte for `idleTimeoutMs`), a total deadline per file
 *   (`media.downloadTimeoutSeconds`) and the size cap, enforced while the body streams;
 * - the caller's signal (cancel, lease loss, shutdown) aborts it at any point.
 *
 * Refusals throw (or error the body with) {@link MediaRefusedError}, whose `reason` is one of
 * `scheme, host, address, redirect, timeout, size`; the media queue counts them in
 * `progress.mediaSkipReasons`. Network failures are `TransientError` (retried), an abort
 * `CancelledError`. Origins on `MEDIA_ALLOW_ORIGINS` (test fakes, private mirrors) pass as they
 * are — the one exception; a channel's API base URL is not one.
 *
 * Any status is returned (the caller decides about 403/404/410); the body of a non-2xx answer
 * should be cancelled.
 *
 * @example
 * ```ts
 * const fetcher = new MediaFetcher({ settings });
 * const res = await fetcher.fetch(url, { allowedHosts: ['cdn.discordapp.com'], signal });
 * if (res.ok && res.body) await storage.store({ ...input, bytes: res.body });
 * ```
 */
export class MediaFetcher {
  readonly #options: Required<MediaFetcherOptions>;
  readonly #allowOrigins: ReadonlySet<string>;

  constructor(options: MediaFetcherOptions = {}) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#options = { ...DEFAULT_MEDIA_FETCHER_OPTIONS, ...defined };
    const origins = options.allowOrigins ?? parseAllowOrigins(process.env.MEDIA_ALLOW_ORIGINS);
    this.#allowOrigins = new Set(origins.flatMap((o) => parseAllowOrigins(o)));
  }

  /** Origins passed without checks (`MEDIA_ALLOW_ORIGINS`), normalized. */
  get allowOrigins(): readonly string[] {
    return [...this.#allowOrigins];
  }

  /**
   * Fetches `url` under the rules above. Resolves with the final answer once its headers are in;
   * its body streams under the idle timeout, the deadline and the size cap.
   */
  async fetch(url: string, init: MediaFetchInit): Promise<Response> {
    const { deadlineMs, maxBytes } = await this.#limits();
    const o = this.#options;
    const controller = new AbortController();
    const caller = init.signal ?? null;
    if (caller?.aborted) throw new CancelledError('media download cancelled before it started');
    const onCancel = () => controller.abort(new CancelledError('media download cancelled'));
    caller?.addEventListener('abort', onCancel, { once: true });
    const deadline = setTimeout(
      () =>
        controller.abort(
          new MediaRefusedError('timeout', `media download took longer than ${deadlineMs / 1000} s`),
        ),
      deadlineMs,
    );
    let exchange: OpenExchange | null = null;
    const finish = () => {
      clearTimeout(deadline);
      caller?.removeEventListener('abort', onCancel);
      exchange?.close();
    };
    const rules = { allowedHosts: init.allowedHosts, allowOrigins: this.#allowOrigins, resolve: o.resolve };
    const control = {
      signal: controller.signal,
      connectTimeoutMs: o.connectTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      ca: o.ca,
      onTimeout: (phase: 'connect' | 'idle') =>
        controller.abort(
          new MediaRefusedError(
            'timeout',
            phase === 'connect'
              ? `media server not reached within ${o.connectTimeoutMs / 1000} s`
              : `media server sent nothing for ${o.idleTimeoutMs / 1000} s`,
          ),
        ),
    };
    let headers = { ...(init.headers ?? {}) };
    let current = url;
    try {
      for (let hop = 0; ; hop++) {
        const target = await abortable(checkMediaUrl(current, rules), controller.signal);
        exchange = await openExchange(target, headers, control).catch((error: unknown) => {
          throw translate(error, controller.signal, target.url);
        });
        const { response, request } = exchange;
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (REDIRECTS.has(status) && location) {
          response.resume();
          request.destroy();
          exchange.close();
          exchange = null;
          if (hop >= o.maxRedirects) {
            throw new MediaRefusedError(
              'redirect',
              `more than ${o.maxRedirects} redirects from ${short(url)}`,
            );
          }
          let next: URL;
          try {
            next = new URL(location, target.url);
          } catch {
            throw new MediaRefusedError('redirect', `redirect to an invalid URL from ${short(current)}`);
          }
          if (next.origin !== target.url.origin) headers = withoutCredentials(headers);
          current = next.href;
          continue;
        }
        const length = Number(response.headers['content-length']);
        if (Number.isFinite(length) && length > maxBytes) {
          request.destroy();
          throw new MediaRefusedError('size', `media of ${length} bytes is over the ${maxBytes}-byte cap`, {
            details: { size: length, maxBytes },
          });
        }
        const body = NULL_BODY.has(status)
          ? null
          : streamBody(exchange, controller.signal, maxBytes, finish, target.url);
        if (!body) {
          request.destroy();
          finish();
        }
        return new Response(body, { status, headers: toHeaders(response.headers) });
      }
    } catch (error) {
      finish();
      throw error;
    }
  }

  async #limits(): Promise<{ deadlineMs: number; maxBytes: number }> {
    const o = this.#options;
    const s = o.settings;
    const deadlineMs =
      o.deadlineMs ?? 1000 * (s ? await s.get('media.downloadTimeoutSeconds') : FALLBACK_DEADLINE_SECONDS);
    const maxBytes =
      o.maxBytes ??
      Math.floor((s ? await s.get('media.maxFileSizeMb') : FALLBACK_MAX_MB) * 1024 * 1024) + SIZE_SLACK_BYTES;
    return { deadlineMs, maxBytes };
  }
}

function short(url: string | URL): string {
  const u = typeof url === 'string' ? url : `${url.origin}${url.pathname}`;
  return u.split('?')[0]?.slice(0, 200) ?? '';
}

/** Rejects with the signal's reason as soon as it is aborted (DNS lookups cannot be aborted). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function translate(error: unknown, signal: AbortSignal, url: URL): Error {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason;
  if (error instanceof MediaRefusedError || error instanceof CancelledError) return error;
  return new TransientError(`media download failed: ${short(url)}`, { cause: error });
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !CROSS_ORIGIN_DROPPED.includes(name.toLowerCase())),
  );
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * The response body as a web stream: every wait for a chunk under the idle timer, bytes counted
 * against `maxBytes`, errors as the abort reason (timeout, cancel, size) or `TransientError`.
 */
function streamBody(
  exchange: OpenExchange,
  signal: AbortSignal,
  maxBytes: number,
  finish: () => void,
  url: URL,
): ReadableStream<Uint8Array> {
  const { response, request } = exchange;
  const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let received = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          exchange.waiting();
          const { value, done } = await chunks.next();
          exchange.arrived();
          if (signal.aborted) throw signal.reason;
          if (done) {
            if (!response.complete) throw new Error('media body ended early');
            finish();
            controller.close();
            return;
          }
          received += value.byteLength;
          if (received > maxBytes) {
            throw new MediaRefusedError('size', `media body is over the ${maxBytes}-byte cap`, {
              details: { maxBytes },
            });
          }
          controller.enqueue(value);
        } catch (error) {
          request.destroy();
          finish();
          controller.error(translate(error, signal, url));
        }
      },
      cancel() {
        request.destroy();
        finish();
      },
    },
    { highWaterMark: 0 },
  );
}
