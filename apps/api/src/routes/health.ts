import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_VERSION } from '../api-version.ts';
import { Health } from '../schemas/health.ts';

const timed = async (check: () => Promise<boolean>) => {
  const started = performance.now();
  const ok = await check().catch(() => false);
  return { status: ok ? ('ok' as const) : ('error' as const), latency: performance.now() - started };
};

/**
 * `GET /health`, Omni's document at the top level: `healthy` (200) when the database and the
 * queue answer, `degraded` (503) when only the queue does not, `unhealthy` (503) when the
 * database does not. No key needed.
 */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Service health',
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const { db, queue } = app.deps;
      const [database, queueCheck] = await Promise.all([timed(() => db.ping()), timed(() => queue.ping())]);
      const status =
        database.status === 'error' ? 'unhealthy' : queueCheck.status === 'error' ? 'degraded' : 'healthy';
      return reply.status(status === 'healthy' ? 200 : 503).send({
        status,
        version: API_VERSION,
        uptime: process.uptime(),
        timestamp: new Date().toISOString(),
        checks: {
          database: { ...database, engine: db.engine },
          queue: { ...queueCheck, mode: queue.mode },
        },
      });
    },
  );
};
