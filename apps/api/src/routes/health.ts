import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data } from '../schemas/common.ts';
import { Health } from '../schemas/health.ts';

/** `GET /health`: database and queue reachability; no key needed. 503 when degraded. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Service health',
        security: [],
        response: { 200: Data(Health), 503: Data(Health) },
      },
    },
    async (_request, reply) => {
      const { db, queue } = app.deps;
      const [dbOk, queueOk] = await Promise.all([db.ping(), queue.ping().catch(() => false)]);
      const ok = dbOk && queueOk;
      return reply.status(ok ? 200 : 503).send({
        data: {
          status: ok ? 'ok' : 'degraded',
          database: { engine: db.engine, ok: dbOk },
          queue: { mode: queue.mode, ok: queueOk },
        },
      });
    },
  );
};
