import { resolve } from 'node:path';
import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ensurePrivateDir } from '@omni/db';
import { SAFE_LOG_OPTIONS } from '@omni/sync-core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { API_VERSION } from './api-version.ts';
import type { AppDeps } from './app-deps.ts';
import { createNativeRoutesServer, type NativeRoutes } from './http/native-routes-server.ts';
import { BufferPool } from './media/buffer-pool.ts';
import { nativeMediaRoutes } from './media/native-media-routes.ts';
import { apiKeyCheck, authPlugin } from './plugins/auth.ts';
import { errorHandlerPlugin, sendApiError, toApiError } from './plugins/error-handler.ts';
import { inputGuardPlugin } from './plugins/input-guard.ts';
import { jsonBodyPlugin } from './plugins/json-body.ts';
import { servicesPlugin } from './plugins/services.ts';
import { authRoutes } from './routes/auth.ts';
import { chatRoutes } from './routes/chats.ts';
import { coverageRoutes } from './routes/coverage.ts';
import { directoryRoutes } from './routes/directory.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { instanceRoutes } from './routes/instances.ts';
import { mediaRoutes } from './routes/media.ts';
import { messageRoutes } from './routes/messages.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { readyRoutes } from './routes/ready.ts';
import { settingsRoutes } from './routes/settings.ts';
import { syncRoutes } from './routes/sync.ts';
import { API_PREFIX_PATH } from './services/api-prefix.ts';
import type { DEFAULT_JOB_EVENT_HUB_OPTIONS, JobEventHubOptions } from './services/job-event-hub.ts';
import type {
  DEFAULT_MESSAGE_PAGE_CACHE_OPTIONS,
  MessagePageCacheOptions,
} from './services/message-page-cache.ts';

/** Base path of every route. */
export const API_PREFIX = API_PREFIX_PATH;

/** Options of {@link buildApp} beyond its services. */
export interface BuildAppOptions {
  /**
   * Fastify logger (`false`, pino options or `true`).
   * @defaultValue false
   */
  logger?: FastifyServerOptions['logger'];
  /**
   * Largest accepted request body, bytes; bigger → 413.
   * @defaultValue 1_048_576
   */
  bodyLimit?: number;
  /**
   * Browser origins allowed to call the API (CORS), e.g. the Omni dashboard's. Empty: no CORS
   * headers at all. Preflights of allowed origins are answered before authentication.
   * @defaultValue []
   */
  corsOrigins?: readonly string[];
  /**
   * Caps of the job event streams (SSE) of this process: per instance and in total (429 past
   * them), and their heartbeat and poll periods.
   * @defaultValue {@link DEFAULT_JOB_EVENT_HUB_OPTIONS} (50 per instance, 1000 in total)
   */
  eventStreams?: JobEventHubOptions;
  /**
   * Answer the media route's plain 200/206 on Bun's own server, bodies sent with `sendfile(2)`
   * (`media/native-media-routes.ts`), when the app listens; everything else, and `inject`, go
   * through Fastify. `false`: Fastify answers every media request (pooled read, one write).
   * @defaultValue true
   */
  nativeMedia?: boolean;
  /**
   * Bounds of the message-page cache (`services/message-page-cache.ts`): pages of
   * `GET /chats/:id/messages` kept, as answered, until a change of what they show commits;
   * `maxBytes: 0` keeps none.
   * @defaultValue {@link DEFAULT_MESSAGE_PAGE_CACHE_OPTIONS} (64 MiB, 5 min)
   */
  messagePages?: MessagePageCacheOptions;
}

/** Headers a browser may read from a cross-origin answer (media: ranges and validators). */
const CORS_EXPOSED_HEADERS = ['content-range', 'accept-ranges', 'etag', 'last-modified', 'content-length'];

/** The headers @fastify/cors, as registered below, adds to a simple (non-preflight) answer. */
function corsHeadersFor(corsOrigins: readonly string[]) {
  return (origin: string | null): Record<string, string> => {
    if (corsOrigins.length === 0) return {};
    const headers: Record<string, string> = {
      vary: 'Origin',
      'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', '),
    };
    if (origin !== null && corsOrigins.includes(origin)) headers['access-control-allow-origin'] = origin;
    return headers;
  };
}

/** The logger option with secrets redacted and errors logged without SQL parameters, whatever the caller gave. */
function safeLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false || logger === undefined) return false;
  const given = logger === true ? {} : logger;
  return {
    ...given,
    redact: SAFE_LOG_OPTIONS.redact,
    serializers: { ...(given.serializers ?? {}), ...SAFE_LOG_OPTIONS.serializers },
  } as FastifyServerOptions['logger'];
}

/**
 * Builds the HTTP app (not listening): external plugins, then app plugins, then routes, in that
 * order. Tests drive it with `app.inject`.
 *
 * @example
 * ```ts
 * const app = await buildApp(deps);
 * const res = await app.inject({ url: '/api/v2/health' });
 * ```
 */
export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  let nativeRoutes: NativeRoutes | null = null;
  const app = Fastify({
    serverFactory: (handler) => createNativeRoutesServer(handler, () => nativeRoutes),
    logger: safeLogger(options.logger ?? false),
    bodyLimit: options.bodyLimit ?? 1_048_576,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
    // What Fastify refuses before routing (a URL that is not valid percent-encoding) leaves in the
    // API's error shape too, not Fastify's own `{ error: 'Bad Request', … }`.
    frameworkErrors: (error, _request, reply) => void sendApiError(reply, toApiError(error)),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // 1. External plugins.
  const corsOrigins = options.corsOrigins ?? [];
  if (corsOrigins.length > 0) {
    await app.register(fastifyCors, {
      origin: [...corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: [
        'x-api-key',
        'content-type',
        'authorization',
        'range',
        'if-none-match',
        'if-modified-since',
      ],
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'omni-sync API',
        version: API_VERSION,
        description: 'History sync for Omni: instances, sync jobs, messages, media, settings.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: `${API_PREFIX}/docs` });
  const mediaRoot = resolve(await deps.settings.get('media.storagePath'));
  ensurePrivateDir(mediaRoot);

  // 2. App plugins.
  await app.register(errorHandlerPlugin);
  await app.register(jsonBodyPlugin);
  await app.register(inputGuardPlugin);
  await app.register(servicesPlugin, {
    deps,
    ...(options.eventStreams ? { eventStreams: options.eventStreams } : {}),
    ...(options.messagePages ? { messagePages: options.messagePages } : {}),
  });
  await app.register(authPlugin, {
    apiKey: deps.apiKey,
    publicPrefixes: [`${API_PREFIX}/docs`],
    ...(deps.metricsToken ? { metricsToken: deps.metricsToken } : {}),
  });
  const { metrics } = deps;
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpRequest({
        method: request.method,
        // The route's pattern, never the raw URL (ids would make a series per request).
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
      });
    });
  }

  // 3. Routes.
  await app.register(healthRoutes, { prefix: API_PREFIX });
  await app.register(authRoutes, { prefix: API_PREFIX });
  await app.register(readyRoutes, { prefix: API_PREFIX });
  await app.register(metricsRoutes);
  await app.register(chatRoutes, { prefix: API_PREFIX });
  await app.register(eventRoutes, { prefix: API_PREFIX });
  await app.register(instanceRoutes, { prefix: API_PREFIX });
  await app.register(syncRoutes, { prefix: API_PREFIX });
  await app.register(coverageRoutes, { prefix: API_PREFIX });
  await app.register(messageRoutes, { prefix: API_PREFIX });
  await app.register(directoryRoutes, { prefix: API_PREFIX });
  await app.register(settingsRoutes, { prefix: API_PREFIX });
  const mediaBuffers = new BufferPool();
  await app.register(mediaRoutes, { prefix: API_PREFIX, buffers: mediaBuffers });
  await app.register(mediaRoutes, { hide: true, buffers: mediaBuffers });
  if (options.nativeMedia !== false) {
    nativeRoutes = nativeMediaRoutes({
      app,
      keyMatches: apiKeyCheck(deps.apiKey),
      storagePath: mediaRoot,
      prefixes: [`${API_PREFIX}/media`, '/media'],
      corsHeaders: corsHeadersFor(corsOrigins),
      ...(metrics ? { onAnswer: (event) => metrics.httpRequest(event) } : {}),
    });
  }
  app.get(`${API_PREFIX}/openapi.json`, { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  return app;
}
