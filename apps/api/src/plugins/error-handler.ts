import { DbError } from '@omni/db';
import { WhatsAppGatewayError } from '@omni/runtime';
import { AuthError, isSyncError, JobQueueFullError, RateLimitedError } from '@omni/sync-core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, type ApiErrorCode } from '../errors/api-error.ts';

const CODE_BY_STATUS: Record<number, ApiErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** `Retry-After` of a refused sync request when the instance's queue is full: about one job's start. */
const JOB_QUEUE_RETRY_AFTER_SECONDS = 30;

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** Turns any thrown value into the API's error body and status. Exported for tests. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof WhatsAppGatewayError) return whatsappError(error);
  if (error instanceof DbError) {
    if (error.code === 'INVALID_SETTING' || error.code === 'UNKNOWN_SETTING') {
      return ApiError.validation(error.message, error.details?.errors ?? error.details);
    }
    if (error.code === 'DECRYPT_FAILED') {
      return new ApiError(422, 'UNPROCESSABLE', error.message);
    }
  }
  if (isSyncError(error)) {
    if (error instanceof AuthError) {
      return new ApiError(
        422,
        'INVALID_CREDENTIALS',
        `the platform refused the credentials: ${error.message}`,
      );
    }
    if (error instanceof RateLimitedError) {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 60_000) / 1000));
      return new ApiError(429, 'RATE_LIMITED', error.message, {
        headers: { 'retry-after': String(seconds) },
      });
    }
    if (error instanceof JobQueueFullError) {
      return new ApiError(429, 'RATE_LIMITED', error.message, {
        details: { limit: error.limit, instanceId: error.instanceId },
        headers: { 'retry-after': String(JOB_QUEUE_RETRY_AFTER_SECONDS) },
      });
    }
    const code: string = error.code;
    if (code === 'NOT_FOUND' || code === 'INSTANCE_NOT_FOUND' || code === 'JOB_NOT_FOUND') {
      return new ApiError(404, 'NOT_FOUND', error.message, { details: error.details });
    }
    if (code === 'CANCELLED') {
      return new ApiError(
        503,
        'SERVICE_UNAVAILABLE',
        `the platform did not answer in time: ${error.message}`,
      );
    }
    if (code === 'JOB_STATE_CONFLICT' || code === 'LEASE_LOST') {
      return new ApiError(409, 'CONFLICT', error.message, { details: error.details });
    }
    if (error.code === 'TRANSIENT') return new ApiError(503, 'SERVICE_UNAVAILABLE', error.message);
    if (error.code === 'PERMANENT' || error.code === 'INVALID_INPUT' || error.code === 'MEDIA_REJECTED') {
      return new ApiError(422, 'UNPROCESSABLE', error.message, { details: error.details });
    }
  }
  const pgCode = (error as { code?: unknown } | null)?.code;
  if (pgCode === '23505') return ApiError.conflict('a resource with the same unique value already exists');
  // Class 22 (data exception): a value the database cannot take (NUL byte, date out of range,
  // malformed uuid or number). Said without echoing the value.
  if (typeof pgCode === 'string' && /^22[0-9A-Z]{3}$/.test(pgCode)) {
    return ApiError.validation('a value in the request is malformed or out of range', {
      databaseCode: pgCode,
    });
  }
  const fastifyError = error as Partial<FastifyError> & { status?: number; headers?: Record<string, string> };
  if (Array.isArray(fastifyError.validation)) return validationError(fastifyError);
  const status = fastifyError.statusCode ?? fastifyError.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'BAD_REQUEST';
    return new ApiError(status, code, fastifyError.message || code, { headers: fastifyError.headers ?? {} });
  }
  if (error instanceof SyntaxError)
    return new ApiError(400, 'BAD_REQUEST', `malformed body: ${error.message}`);
  if (status === 503) return new ApiError(503, 'SERVICE_UNAVAILABLE', fastifyError.message ?? 'unavailable');
  return new ApiError(500, 'INTERNAL_ERROR', 'internal error', { cause: error });
}

/** At most this many schema errors are reported (the first ones found); the rest are counted. */
export const MAX_VALIDATION_DETAILS = 10;
const MAX_PARAMS_CHARS = 200;

/**
 * A schema validation failure as a 400, bounded in size whatever the body: the first
 * {@link MAX_VALIDATION_DETAILS} errors, their `params` only when small, and how many were left out.
 */
function validationError(error: Partial<FastifyError>): ApiError {
  const context = error.validationContext ?? 'request';
  const all = error.validation as AjvLikeError[];
  const details = all.slice(0, MAX_VALIDATION_DETAILS).map((v) => {
    const params = v.params && JSON.stringify(v.params).length <= MAX_PARAMS_CHARS ? v.params : undefined;
    return {
      in: context,
      path: (v.instancePath || '/').slice(0, MAX_PARAMS_CHARS),
      message: (v.message ?? 'is invalid').slice(0, MAX_PARAMS_CHARS),
      keyword: v.keyword,
      ...(params !== undefined ? { params } : {}),
    };
  });
  const summary = details
    .slice(0, 3)
    .map((d) => `${context}${d.path === '/' ? '' : d.path} ${d.message}`)
    .join(', ');
  const more = all.length - details.length;
  return ApiError.validation(
    `invalid ${context}: ${summary || 'validation failed'}${all.length > 3 ? ` (${all.length} errors)` : ''}`,
    more > 0 ? [...details, { in: context, omitted: more }] : details,
  );
}

/** A WhatsApp session unreachable (503 with its code) or refusing (the status its error code means). */
function whatsappError(error: WhatsAppGatewayError): ApiError {
  const details = { instanceId: error.instanceId };
  switch (error.code) {
    case 'WHATSAPP_UNAVAILABLE':
    case 'WHATSAPP_TIMEOUT':
    case 'WHATSAPP_SESSION_HELD':
      return new ApiError(503, error.code, error.message, { details, cause: error });
    case 'WHATSAPP_REFUSED':
      if (error.remoteCode === 'PERMANENT' || error.remoteCode === 'INVALID_INPUT')
        return new ApiError(422, 'UNPROCESSABLE', error.message, { details, cause: error });
      if (error.remoteCode === 'RATE_LIMITED')
        return new ApiError(429, 'RATE_LIMITED', error.message, { details, cause: error });
      if (error.remoteCode === 'INTERNAL')
        return new ApiError(500, 'INTERNAL_ERROR', 'internal error', { cause: error });
      return new ApiError(503, 'SERVICE_UNAVAILABLE', error.message, { details, cause: error });
  }
}

/** Writes an {@link ApiError} as the response. */
export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  const body: { code: string; message: string; details?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.details !== undefined) body.details = error.details;
  return reply.status(error.status).type('application/json; charset=utf-8').send({ error: body });
}

/**
 * The one error handler and not-found handler of the app: every error leaves as
 * `{ error: { code, message, details? } }` with a stable code. Bad input is never a 500.
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.debug({ err: error, code: apiError.code }, 'request rejected');
      return sendApiError(reply, apiError);
    });
    app.setNotFoundHandler((request, reply) =>
      sendApiError(reply, new ApiError(404, 'NOT_FOUND', `route ${request.method} ${request.url} not found`)),
    );
  },
  { name: 'error-handler' },
);
