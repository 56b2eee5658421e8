import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildCoverageReport, type CoverageReport as Report } from '@omni/sync-core';
import { Data, errorResponses, IdParams } from '../schemas/common.ts';
import { CoverageQuery, CoverageReport } from '../schemas/coverage.ts';
import { InstanceService } from '../services/instance-service.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function toBody(report: Report) {
  return {
    instanceId: report.instanceId,
    depth: report.depth,
    since: isoOrNull(report.since),
    until: iso(report.until),
    summary: report.summary as typeof report.summary & Record<string, number>,
    chats: report.chats.map((c) => ({
      ...c,
      ranges: c.ranges.map((r) => ({ ...r, from: iso(r.from), to: iso(r.to) })),
      gaps: c.gaps.map((g) => ({ ...g, from: iso(g.from), to: iso(g.to) })),
      tail: c.tail ? { from: iso(c.tail.from), to: iso(c.tail.to) } : null,
      oldestMessageAt: isoOrNull(c.oldestMessageAt),
      newestMessageAt: isoOrNull(c.newestMessageAt),
    })),
  };
}

/** `GET /instances/:id/coverage`: what is stored per chat, the gaps inside a depth, and why. */
export const coverageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const instances = new InstanceService(app.deps);
  app.get(
    '/instances/:id/coverage',
    {
      schema: {
        tags: ['sync'],
        summary:
          'Coverage per chat: ranges stored completely (with the reason at each edge), gaps inside the depth, stored messages; and a summary',
        params: IdParams,
        querystring: CoverageQuery,
        response: { 200: Data(CoverageReport), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const instance = await instances.get(request.params.id);
      const depth = request.query.depth ?? (await app.deps.settings.get('sync.defaultDepth'));
      const report = await buildCoverageReport(app.deps.db.db, instance.id, {
        depth,
        ...(request.query.chatId ? { chatIds: [request.query.chatId] } : {}),
      });
      return { data: toBody(report) };
    },
  );
};
