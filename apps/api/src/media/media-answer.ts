import { type ByteRange, contentRange, parseRange, type RangeRequest } from './byte-range.ts';
import { servedTypeFor } from './content-type.ts';
import {
  type ConditionalHeaders,
  evaluatePreconditions,
  type FileValidators,
  fileValidators,
  rangeStillValid,
} from './http-validators.ts';

/** Cache-Control of every media response (what @fastify/static sent: revalidate each time). */
const CACHE_CONTROL = 'public, max-age=0';
const WHOLE: RangeRequest = { kind: 'full' };

/** What a GET or HEAD of a stored regular file is answered with, before any byte is read. */
export type MediaAnswer =
  /** 412: a failed `If-Match` / `If-Unmodified-Since`. */
  | { kind: 'precondition-failed' }
  /** 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable'; size: number }
  /** 304 with the validator headers. */
  | { kind: 'not-modified'; headers: Record<string, string> }
  /**
   * 200 or 206: the bytes of `range` (`end < start` for an empty file), with `headers` (type,
   * length, validators, `Content-Range` for a 206); `bodyless` for a HEAD or an empty file.
   */
  | { kind: 'body'; status: 200 | 206; range: ByteRange; bodyless: boolean; headers: Record<string, string> };

/** The headers every successful answer (200, 206, 304) carries. */
const validatorHeaders = (v: FileValidators): Record<string, string> => ({
  'accept-ranges': 'bytes',
  'cache-control': CACHE_CONTROL,
  'last-modified': v.lastModified,
  etag: v.etag,
});

/**
 * The answer to a GET or HEAD (`method`) with `headers` for the regular file at `path` of `size`
 * bytes last modified at `mtime`: preconditions first (412, 304), then `Range` (206, 416, or the
 * whole file). Headers as @fastify/static sent them: `Accept-Ranges`, `Cache-Control`,
 * `Last-Modified`, weak `ETag`; `Content-Type` from the extension when it names an inline-safe
 * type (image, audio, video, PDF), else `application/octet-stream` with
 * `Content-Disposition: attachment` (see `servedTypeFor`).
 */
export function planMediaAnswer(
  method: string,
  headers: ConditionalHeaders,
  path: string,
  size: number,
  mtime: Date,
): MediaAnswer {
  const validators = fileValidators(size, mtime);
  const outcome = evaluatePreconditions(headers, validators);
  if (outcome === 'precondition-failed') return { kind: 'precondition-failed' };
  const range = headers.range;
  const asked =
    outcome === 'proceed' && rangeStillValid(headers, validators)
      ? parseRange(size, Array.isArray(range) ? range.join(', ') : range)
      : WHOLE;
  if (asked.kind === 'unsatisfiable') return { kind: 'unsatisfiable', size };
  if (outcome === 'not-modified') return { kind: 'not-modified', headers: validatorHeaders(validators) };
  const bytes = asked.kind === 'partial' ? asked.range : { start: 0, end: size - 1 };
  const served = servedTypeFor(path);
  const answerHeaders: Record<string, string> = {};
  if (asked.kind === 'partial') answerHeaders['content-range'] = contentRange(size, bytes);
  if (served.disposition) answerHeaders['content-disposition'] = served.disposition;
  Object.assign(answerHeaders, validatorHeaders(validators));
  answerHeaders['content-type'] = served.contentType;
  answerHeaders['content-length'] = String(bytes.end - bytes.start + 1);
  return {
    kind: 'body',
    status: asked.kind === 'partial' ? 206 : 200,
    range: bytes,
    bodyless: method === 'HEAD' || bytes.end < bytes.start,
    headers: answerHeaders,
  };
}
