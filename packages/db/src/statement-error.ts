/**
 * What Postgres answered a {@link PreparedStatement} with: its SQLSTATE as `code`, where `pg`'s
 * errors carry it too (Bun's SQL client puts it in `errno`) — so a caller, and the API's error
 * handler (class 22 → 400, 23505 → 409), treats the errors of both clients alike.
 *
 * @example
 * ```ts
 * try { await omniDb.prepared(PAGE, [cursorTime]); }
 * catch (error) { if (error instanceof StatementError && error.code === '22008') … }
 * ```
 */
export class StatementError extends Error {
  override readonly name = 'StatementError';
  /** The SQLSTATE, e.g. `22008` (datetime field overflow), `23505` (unique violation). */
  readonly code: string;
  /** Postgres's severity (`ERROR`, `FATAL`…). */
  readonly severity: string | undefined;

  constructor(message: string, code: string, options: { cause: unknown; severity?: string | undefined }) {
    super(message, { cause: options.cause });
    this.code = code;
    this.severity = options.severity;
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * `error` as a {@link StatementError} when it is Postgres's answer carrying a SQLSTATE in `errno`
 * (Bun's SQL client); any other error (a connection refused or closed) as it is.
 */
export function statementErrorOf(error: unknown): unknown {
  const { errno, message, severity } = (error ?? {}) as {
    errno?: unknown;
    message?: unknown;
    severity?: unknown;
  };
  if (typeof errno !== 'string' || !SQLSTATE.test(errno)) return error;
  return new StatementError(typeof message === 'string' ? message : 'statement failed', errno, {
    cause: error,
    severity: typeof severity === 'string' ? severity : undefined,
  });
}
