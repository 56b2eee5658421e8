import { closeSync, fstatSync, openSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { NativeHandler, NativeRequest, NativeRoutes } from '../http/native-routes-server.ts';
import { MEDIA_SECURITY_HEADERS } from './content-type.ts';
import type { ConditionalHeaders } from './http-validators.ts';
import { planMediaAnswer } from './media-answer.ts';
import { confinedMediaFile, isMediaPath, MEDIA_MAX_DEPTH, MEDIA_MAX_PATH_LENGTH } from './media-path.ts';
import { MEDIA_OPEN_FLAGS } from './send-media-file.ts';

/** Options of {@link nativeMediaRoutes}. */
export interface NativeMediaRoutesOptions {
  /** The app whose media route answers every request the native path does not (through `inject`). */
  app: FastifyInstance;
  /** True when `given` is the API key (the auth plugin's check). */
  keyMatches: (given: string) => boolean;
  /**
   * The media folder (`media.storagePath`, set at deploy time and never changed at run time), read
   * once: the native answer is given synchronously (see {@link nativeMediaRoutes}).
   */
  storagePath: string;
  /** Paths the media route is registered under, e.g. `['/api/v2/media', '/media']`. */
  prefixes: readonly string[];
  /** The CORS headers the app would add to an answer for this `Origin` (none without CORS). */
  corsHeaders: (origin: string | null) => Record<string, string>;
  /** Told of every answer given natively (the app's `onResponse` metrics hook sees only its own). */
  onAnswer?: (event: { method: string; route: string; status: number; seconds: number }) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The route's `api_key` query value limit (`ApiKeyQuery`). */
const MAX_QUERY_KEY_LENGTH = 512;
const CONDITIONAL = [
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
];
/** Headers of an injected answer that belong to its own connection, not to the answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);
/**
 * Types Bun sends a file of as is. For others (`application/pdf`) Bun adds its own
 * `Content-Disposition: filename="…"`, which the route does not send: those go through the app.
 */
const SENT_AS_IS = /^(image|audio|video)\//;
/** Query strings whose values the route must decode and check itself: percent-encoding, a `#`. */
const QUERY_LEFT_TO_ROUTE = /[%#]/;

/**
 * The path and query of `url`, without parsing it again: absolute as Bun's `Request.url` is, or
 * only the request target when the `Host` header is missing or no host (`a/b`, `a b`): Bun then
 * gives the target alone.
 */
function splitUrl(url: string): { path: string; search: string } {
  const pathStart = url.startsWith('/') ? 0 : url.indexOf('/', url.indexOf('//') + 2);
  const query = url.indexOf('?', pathStart);
  return query === -1
    ? { path: url.slice(pathStart), search: '' }
    : { path: url.slice(pathStart, query), search: url.slice(query) };
}

function segmentsOf(params: Record<string, string>): string[] {
  const segments: string[] = [];
  for (let i = 1; params[`s${i}`] !== undefined; i++) segments.push(params[`s${i}`] as string);
  return segments;
}

function conditionalHeaders(request: Request): ConditionalHeaders {
  const headers: ConditionalHeaders = { 'cache-control': request.headers.get('cache-control') ?? undefined };
  for (const name of CONDITIONAL) headers[name] = request.headers.get(name) ?? undefined;
  return headers;
}

/**
 * The media route (`GET|HEAD <prefix>/:instanceId/*`, see `routes/media.ts`) answered on Bun's own
 * server, so a file's bytes go out with `sendfile(2)` as nginx sends them, instead of being read
 * into a buffer and written back through node:http. Only the plain case is answered here: an
 * untricky path (plain segments, no percent-encoding, nothing the URL parser normalised), the key
 * right, the file confined, regular, non-empty, of a type Bun sends as is (image, audio, video, or an
 * attachment), and a 200 or 206 — through the same functions the
 * route uses (`isMediaPath`, `confinedMediaFile`, `planMediaAnswer`) and with the same headers
 * (security headers, CORS). Every other request (401, 400, 404, 304, 412, 416, empty files) is
 * handed to the app's own route with `inject` and answered exactly as it would have been.
 *
 * Bun hands these requests over with the URL normalised (`..` resolved, `\` made `/`, `%2e`
 * decoded) and the parameters decoded, so one pattern per depth is registered (`…/:s1/:s2`) to see
 * each raw segment; a request whose segments or path could have been rewritten is never served
 * natively, and reaches the route as a path it refuses the same way (400).
 *
 * A native answer is returned synchronously, with no promise in between: Bun (1.4.5) hands a
 * route the next request pipelined on a connection while the previous answer is still pending,
 * and then writes the answers out of order or without their status line. A request pipelined
 * behind an answer that is pending (one given through the app, any other route of the API, or a
 * body too big for the socket's buffer) is still exposed to that; node:http alone holds such a
 * request until the answer ahead of it is sent.
 *
 * Files are opened by path a second time for the send: stored media are immutable (written to a
 * temporary name and renamed into place), so the validators of the `fstat` describe the bytes sent.
 */
export function nativeMediaRoutes(options: NativeMediaRoutesOptions): NativeRoutes {
  const routes: NativeRoutes = {};
  for (const prefix of options.prefixes) {
    const handle = handler(options, prefix);
    let pattern = `${prefix}/:instanceId`;
    for (let depth = 1; depth <= MEDIA_MAX_DEPTH; depth++) {
      pattern += `/:s${depth}`;
      routes[pattern] = { GET: handle, HEAD: handle };
    }
  }
  return routes;
}

function handler(options: NativeMediaRoutesOptions, prefix: string): NativeHandler {
  const route = `${prefix}/:instanceId/*`;
  return (request, server) => {
    const started = performance.now();
    const { path, search } = splitUrl(request.url);
    let served: Response | null = null;
    try {
      served = answerNatively(options, prefix, request, path, search);
    } catch {
      // Whatever fails here is the app's to answer, in its error shape.
    }
    if (!served) {
      const client = server?.requestIP(request)?.address;
      // Bun answers a handler's rejection itself: a 500, its page of source lines outside production.
      return answerThroughApp(options, prefix, request, path, search, client).catch(unavailable);
    }
    options.onAnswer?.({
      method: request.method,
      route,
      status: served.status,
      seconds: (performance.now() - started) / 1000,
    });
    return served;
  };
}

function answerNatively(
  options: NativeMediaRoutesOptions,
  prefix: string,
  request: NativeRequest,
  path: string,
  search: string,
): Response | null {
  const { instanceId } = request.params;
  const segments = segmentsOf(request.params);
  if (!instanceId || !UUID.test(instanceId) || !isMediaPath(segments)) return null;
  const rest = segments.join('/');
  if (rest.length > MEDIA_MAX_PATH_LENGTH || path !== `${prefix}/${instanceId}/${rest}`) return null;
  // The route validates the query whichever way the key comes (NUL guard, one `api_key` of at most
  // 512 characters): anything encoded, or a fragment inject would cut off, is left to it.
  if (QUERY_LEFT_TO_ROUTE.test(search)) return null;
  const keys = new URLSearchParams(search).getAll('api_key');
  if (keys.length > 1 || (keys[0]?.length ?? 0) > MAX_QUERY_KEY_LENGTH) return null;
  const given = request.headers.get('x-api-key') || keys[0];
  if (!given || !options.keyMatches(given)) return null;
  const file = confinedMediaFile(options.storagePath, instanceId, segments);
  if (file === null) return null;
  let fd: number;
  try {
    fd = openSync(file, MEDIA_OPEN_FLAGS);
  } catch {
    return null;
  }
  let answer: ReturnType<typeof planMediaAnswer>;
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return null;
    answer = planMediaAnswer(request.method, conditionalHeaders(request), file, info.size, info.mtime);
  } finally {
    closeSync(fd);
  }
  if (answer.kind !== 'body' || answer.range.end < answer.range.start) return null;
  // Bun applies a request's `Range` to a 200 file answer itself (`BYTES=0-3`, the first of two
  // `Range` headers): a range the route ignores must not be served partially.
  if (answer.status === 200 && request.headers.has('range')) return null;
  const { 'content-length': _length, ...headers } = answer.headers;
  const contentType = headers['content-type'] as string;
  if (!headers['content-disposition'] && !SENT_AS_IS.test(contentType)) return null;
  return new Response(Bun.file(file).slice(answer.range.start, answer.range.end + 1, contentType), {
    status: answer.status,
    headers: { ...headers, ...MEDIA_SECURITY_HEADERS, ...options.corsHeaders(request.headers.get('origin')) },
  });
}

/**
 * The answer when the app cannot give one (`inject` refuses once the app is closing): a 503 in the
 * API's error shape, as the route's refusals are, and the connection closed.
 */
function unavailable(): Response {
  const body = {
    error: { code: 'SERVICE_UNAVAILABLE', message: 'the server is shutting down or unavailable' },
  };
  return Response.json(body, {
    status: 503,
    headers: {
      ...MEDIA_SECURITY_HEADERS,
      connection: 'close',
      'content-type': 'application/json; charset=utf-8',
    },
  });
}

/**
 * The app's own answer. A path Bun may have rewritten (`.`/`..` segments, a backslash) reaches the
 * route as one it refuses like the original (`%2e%2e%2e`: an encoded dot, 400), the rest as given.
 */
async function answerThroughApp(
  options: NativeMediaRoutesOptions,
  prefix: string,
  request: NativeRequest,
  path: string,
  search: string,
  client: string | undefined,
): Promise<Response> {
  const { instanceId = '' } = request.params;
  const rewritten = [instanceId, ...segmentsOf(request.params)].some(
    (s) => s === '.' || s === '..' || s.includes('\\'),
  );
  // `inject` parses the URL again and would drop a `#…` the route reads as part of the query.
  const query = search.replaceAll('#', '%23');
  const url = rewritten
    ? `${prefix}/${instanceId === '.' || instanceId === '..' ? '%2e%2e%2e' : encodeURIComponent(instanceId)}/%2e%2e%2e${query}`
    : `${path}${query}`;
  const injected = await options.app.inject({
    method: request.method as 'GET' | 'HEAD',
    url,
    headers: Object.fromEntries(request.headers),
    ...(client ? { remoteAddress: client } : {}),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(injected.headers)) {
    // A body's length is Bun's to write; a HEAD has none, so it keeps the app's.
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (name === 'content-length' && request.method !== 'HEAD') continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v));
  }
  return new Response(request.method === 'HEAD' ? null : injected.rawPayload, {
    status: injected.statusCode,
    headers,
  });
}
