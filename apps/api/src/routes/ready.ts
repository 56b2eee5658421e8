import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

/** `GET /ready`. */
const Readiness = Type.Object({
  ready: Type.Boolean(),
  /** Why not ready: `stopping`, `database`, `queue`. Empty when ready. */
  reasons: Type.Array(Type.String()),
});

/**
 * `GET /ready`: readiness for a load balancer or an orchestrator — 200 only while this process
 * should get traffic: the database and the queue answer and shutdown has not begun. No key needed.
 * (The process listens only after its migrations ran, so during them the check fails to connect.)
 * `/health` stays the liveness and status document.
 */
export const readyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/ready',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Readiness (503 while stopping or when the database or queue is unreachable)',
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const { db, queue, shutdown } = app.deps;
      const reasons: string[] = [];
      if (shutdown?.aborted) reasons.push('stopping');
      const [dbOk, queueOk] = await Promise.all([
        db.ping().catch(() => false),
        queue.ping().catch(() => false),
      ]);
      if (!dbOk) reasons.push('database');
      if (!queueOk) reasons.push('queue');
      return reply.status(reasons.length === 0 ? 200 : 503).send({ ready: reasons.length === 0, reasons });
    },
  );
};
