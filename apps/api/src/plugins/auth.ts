import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/api-error.ts';
import { sendApiError } from './error-handler.ts';

/** Options of {@link authPlugin}. */
export interface AuthPluginOptions {
  /** The key every request but the public ones must send as `x-api-key`. */
  apiKey: string;
  /** URL prefixes that need no key (documentation). */
  publicPrefixes?: readonly string[];
  /**
   * `METRICS_TOKEN`: routes marked `config: { metricsToken: true }` (`/metrics`) also accept
   * `Authorization: Bearer <token>`, so a scraper need not hold the API key.
   */
  metricsToken?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs no `x-api-key` (health). */
    public?: boolean;
    /**
     * The key may also come as `?api_key=` (media and SSE routes only: an `<img src>` or an
     * `EventSource` cannot send headers).
     */
    apiKeyInQuery?: boolean;
    /** The route also takes `Authorization: Bearer <METRICS_TOKEN>` (metrics scrapers). */
    metricsToken?: boolean;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** A constant-time check of a given key against `apiKey` (what every authenticated route does). */
export function apiKeyCheck(apiKey: string): (given: string) => boolean {
  const expected = digest(apiKey);
  return (given) => timingSafeEqual(digest(given), expected);
}

/**
 * `x-api-key` on every route except those marked `config: { public: true }`; routes marked
 * `config: { apiKeyInQuery: true }` also take `?api_key=`.
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, options) => {
    const keyMatches = apiKeyCheck(options.apiKey);
    const metricsToken = options.metricsToken ? digest(options.metricsToken) : null;
    const prefixes = options.publicPrefixes ?? [];
    const folders = prefixes.map((p) => `${p}/`);
    // A callback hook: run on every request, it saves the promise an async one costs.
    app.addHook('onRequest', (request, reply, done) => {
      // `routeOptions` is built afresh on every read: read it once.
      const config = request.routeOptions.config;
      if (config?.public === true) return done();
      if (prefixes.length > 0) {
        const end = request.url.indexOf('?');
        const path = end === -1 ? request.url : request.url.slice(0, end);
        if (prefixes.includes(path) || folders.some((f) => path.startsWith(f))) return done();
      }
      if (metricsToken && config?.metricsToken === true) {
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        if (bearer && timingSafeEqual(digest(bearer), metricsToken)) return done();
      }
      const header = request.headers['x-api-key'];
      const query =
        config?.apiKeyInQuery === true
          ? (request.query as Record<string, unknown> | undefined)?.api_key
          : undefined;
      const given = typeof header === 'string' && header !== '' ? header : query;
      if (typeof given === 'string' && given !== '' && keyMatches(given)) return done();
      // Answered here: the request goes no further (`done` is not called).
      sendApiError(
        reply,
        new ApiError(
          401,
          'UNAUTHORIZED',
          given ? 'invalid API key' : 'missing API key: send it in the x-api-key header',
        ),
      );
    });
  },
  { name: 'auth', dependencies: ['error-handler'] },
);
