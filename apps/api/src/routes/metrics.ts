import type { FastifyPluginAsync } from 'fastify';

/**
 * `GET /metrics`: this process's metrics in Prometheus' text format (platform requests, 429s and
 * cooldowns, budget waits, messages, media, job durations, queue backlog, lease takeovers, HTTP
 * latency — each described in apps/api/README.md). Needs the API key, or `Authorization: Bearer
 * <METRICS_TOKEN>` when that variable is set. 404 when the app was built without metrics.
 */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/metrics', { config: { metricsToken: true }, schema: { hide: true } }, async (_request, reply) => {
    const { metrics } = app.deps;
    if (!metrics) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'metrics are off' } });
    const { contentType, body } = await metrics.scrape();
    return reply.type(contentType).send(body);
  });
};
