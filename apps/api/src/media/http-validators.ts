/** The validators of a stored file that conditional requests are checked against. */
export interface FileValidators {
  /** Weak entity tag, `W/"<size hex>-<mtime ms hex>"`. */
  etag: string;
  /** `Last-Modified` value (HTTP date, whole seconds). */
  lastModified: string;
  /** `lastModified` as epoch ms (whole seconds), what the request's dates are compared with. */
  lastModifiedMs: number;
}

/** The request headers conditional requests read (Node's lower-cased `IncomingHttpHeaders`). */
export type ConditionalHeaders = Record<string, string | string[] | undefined>;

/** What preconditions make of a request, before any range is considered. */
export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/** Validators of a file of `size` bytes last modified at `mtime` (the format @fastify/send used). */
export function fileValidators(size: number, mtime: Date): FileValidators {
  const lastModified = mtime.toUTCString();
  return {
    etag: `W/"${size.toString(16)}-${mtime.getTime().toString(16)}"`,
    lastModified,
    lastModifiedMs: Date.parse(lastModified),
  };
}

const header = (headers: ConditionalHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/** True when some entity tag of the comma-separated `list` names the file's (weak) entity tag. */
function listsEtag(list: string, v: FileValidators): boolean {
  return list.split(',').some((raw) => {
    const tag = raw.trim();
    return tag !== '' && (tag === v.etag || `W/${tag}` === v.etag);
  });
}

function preconditionFailed(headers: ConditionalHeaders, v: FileValidators): boolean {
  const ifMatch = header(headers, 'if-match');
  if (ifMatch && ifMatch !== '*' && !listsEtag(ifMatch, v)) return true;
  const ifUnmodifiedSince = header(headers, 'if-unmodified-since');
  if (ifUnmodifiedSince !== undefined) {
    const since = Date.parse(ifUnmodifiedSince);
    if (!Number.isNaN(since) && (Number.isNaN(v.lastModifiedMs) || v.lastModifiedMs > since)) return true;
  }
  return false;
}

function notModified(headers: ConditionalHeaders, v: FileValidators): boolean {
  if (header(headers, 'cache-control')?.includes('no-cache')) return false;
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch === '*') return true;
    return listsEtag(ifNoneMatch, v);
  }
  const ifModifiedSince = header(headers, 'if-modified-since');
  return ifModifiedSince !== undefined && v.lastModifiedMs <= Date.parse(ifModifiedSince);
}

/**
 * Evaluates `If-Match` / `If-Unmodified-Since` (→ 412) and then `If-None-Match` /
 * `If-Modified-Since` (→ 304; `If-Modified-Since` ignored when `If-None-Match` is present,
 * `Cache-Control: no-cache` always fetches), as @fastify/send did for GET and HEAD.
 */
export function evaluatePreconditions(headers: ConditionalHeaders, v: FileValidators): ConditionalOutcome {
  if (
    !header(headers, 'if-match') &&
    !header(headers, 'if-unmodified-since') &&
    !header(headers, 'if-none-match') &&
    !header(headers, 'if-modified-since')
  )
    return 'proceed';
  if (preconditionFailed(headers, v)) return 'precondition-failed';
  return notModified(headers, v) ? 'not-modified' : 'proceed';
}

/**
 * `If-Range`: true when the range may be honoured (no `If-Range`, or it names the current
 * entity tag or a date not before `Last-Modified`); false → send the whole file with 200.
 */
export function rangeStillValid(headers: ConditionalHeaders, v: FileValidators): boolean {
  const ifRange = header(headers, 'if-range');
  if (ifRange === undefined) return true;
  if (ifRange.includes('"')) return ifRange.includes(v.etag);
  const date = Date.parse(ifRange);
  if (Number.isNaN(date)) return false;
  return Number.isNaN(v.lastModifiedMs) || v.lastModifiedMs <= date;
}
