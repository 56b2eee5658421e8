/** Stable error codes of the HTTP API. */
export type ApiErrorCode =
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RANGE_NOT_SATISFIABLE'
  | 'UNPROCESSABLE'
  | 'INVALID_CREDENTIALS'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'WHATSAPP_UNAVAILABLE'
  | 'WHATSAPP_TIMEOUT'
  | 'WHATSAPP_SESSION_HELD'
  | 'METHOD_NOT_ALLOWED'
  | 'BAD_REQUEST'
  | 'INTERNAL_ERROR';

/**
 * An error that the central error handler turns into `{ error: { code, message, details? } }`
 * with `status`. Routes and services throw these; nothing else writes error bodies.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: unknown;
  /** Extra response headers (e.g. `retry-after`). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    options: { details?: unknown; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  /** 404 for an unknown resource. */
  static notFound(what: string, id?: string): ApiError {
    return new ApiError(404, 'NOT_FOUND', id ? `${what} ${id} not found` : `${what} not found`);
  }

  /** 409 for a request that conflicts with the current state. */
  static conflict(message: string, details?: unknown): ApiError {
    return new ApiError(409, 'CONFLICT', message, { details });
  }

  /** 400 for input the schemas could not express. */
  static validation(message: string, details?: unknown): ApiError {
    return new ApiError(400, 'VALIDATION_ERROR', message, { details });
  }

  /** 422 for well-formed input that cannot be acted upon. */
  static unprocessable(message: string, details?: unknown): ApiError {
    return new ApiError(422, 'UNPROCESSABLE', message, { details });
  }
}
