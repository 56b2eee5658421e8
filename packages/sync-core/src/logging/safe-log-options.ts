/**
 * Paths pino blanks out (`redact`): API keys, tokens, authorization headers and credentials,
 * at the top level and up to three objects deep.
 */
export const REDACTED_LOG_PATHS: readonly string[] = (() => {
  const names = [
    'token',
    'apiKey',
    'api_key',
    'password',
    'secret',
    'secretKey',
    'credentials',
    'authorization',
    'cookie',
    '["x-api-key"]',
    'mediaKey',
  ];
  const path = (prefix: string, name: string) =>
    name.startsWith('[') ? `${prefix}${name}` : `${prefix}.${name}`;
  const out: string[] = [];
  for (const name of names) {
    out.push(name.startsWith('[') ? `*${name}` : name);
    for (const prefix of ['*', '*.*', '*.*.*']) out.push(path(prefix, name));
  }
  return out;
})();

/** A query parameter name, as {@link queryName} reads it, that carries a secret (`api_key`, `access_token`…). */
const SENSITIVE_NAME = /(apikey|token)$/;

/**
 * A query parameter's name as the server's query parser reads it (percent-decoded, `+` a space),
 * then without a `[…]` suffix, separators and case: `api%5Fkey`, `API_KEY` and `api_key[]` are
 * all `apikey`.
 */
function queryName(raw: string): string {
  let name = raw.replaceAll('+', ' ');
  try {
    name = decodeURIComponent(name);
  } catch {}
  return name
    .replace(/\[.*$/, '')
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase();
}

/**
 * A URL with the values of secret-bearing query parameters (`api_key`, `token`, however their
 * names are spelled or encoded) replaced by `[Redacted]`: every `&`-separated pair is judged by
 * its decoded name, as the query parser that authenticates the request reads it.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq !== -1 && SENSITIVE_NAME.test(queryName(pair.slice(0, eq)))
        ? `${pair.slice(0, eq)}=[Redacted]`
        : pair;
    });
  return `${url.slice(0, start + 1)}${pairs.join('&')}`;
}

const DB_CODE = /^[0-9A-Z]{5}$/;
const QUOTED = /"[^"]*"|'[^']*'/g;

/** What an error looks like in the log: type, message, code, stack, cause; never a query or its parameters. */
export interface SafeLoggedError {
  [field: string]: unknown;
  type: string;
  message: string;
  /** The frames only, under a first line of the (scrubbed) message; empty when the error had none. */
  stack: string;
  code?: string;
  statusCode?: number;
  cause?: SafeLoggedError;
}

/**
 * pino's `err` serializer without what a database error carries beside its message: the SQL text,
 * its parameters, `detail` (the conflicting row's values). A database error's message keeps its
 * words but not the quoted values in it (`invalid input syntax for type uuid: "…"`). Other errors
 * keep only type, message, code, status and stack.
 */
export function safeErrorSerializer(error: unknown, depth = 0): SafeLoggedError {
  if (!(error instanceof Error)) {
    return {
      type: typeof error,
      message: typeof error === 'string' ? error : 'non-error value thrown',
      stack: '',
    };
  }
  const fields = error as Error & { code?: unknown; statusCode?: unknown; severity?: unknown };
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const fromDatabase =
    (code !== undefined && DB_CODE.test(code)) ||
    typeof fields.severity === 'string' ||
    error.name === 'DatabaseError';
  const message = fromDatabase ? error.message.replace(QUOTED, '"…"') : error.message;
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const out: SafeLoggedError = {
    type: error.name,
    message,
    stack: frames.length > 0 ? [`${error.name}: ${message}`, ...frames].join('\n') : '',
  };
  if (code !== undefined) out.code = code;
  if (typeof fields.statusCode === 'number') out.statusCode = fields.statusCode;
  if (error.cause !== undefined && depth < 3) out.cause = safeErrorSerializer(error.cause, depth + 1);
  return out;
}

/** The logged request: method and URL (secrets in the query redacted), never headers or body. */
export function safeRequestSerializer(request: { method?: string; url?: string; id?: unknown }): {
  method?: string;
  url?: string;
  id?: unknown;
} {
  return {
    ...(request.method !== undefined ? { method: request.method } : {}),
    ...(request.url !== undefined ? { url: redactUrl(request.url) } : {}),
    ...(request.id !== undefined ? { id: request.id } : {}),
  };
}

/**
 * pino options every process of the service logs with: secrets redacted, errors without SQL
 * parameters, requests without headers. Spread into `pino({...})` or Fastify's `logger`.
 *
 * @example
 * ```ts
 * const log = pino({ level: 'info', ...SAFE_LOG_OPTIONS });
 * ```
 */
export const SAFE_LOG_OPTIONS = {
  redact: { paths: [...REDACTED_LOG_PATHS], censor: '[Redacted]' },
  serializers: {
    err: (error: unknown) => safeErrorSerializer(error),
    error: (error: unknown) => safeErrorSerializer(error),
    req: safeRequestSerializer,
  },
};
