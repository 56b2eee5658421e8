/** Stable codes of {@link DbError}. */
export type DbErrorCode =
  | 'MIGRATION_FAILED'
  | 'CONNECT_FAILED'
  | 'DECRYPT_FAILED'
  | 'BAD_SECRET_KEY'
  | 'INVALID_SETTING'
  | 'UNKNOWN_SETTING';

/** Errors raised by `@omni/db`, each with a stable `code`. */
export class DbError extends Error {
  override readonly name = 'DbError';
  readonly code: DbErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: DbErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}
