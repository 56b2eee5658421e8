import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isSettingKey } from '@omni/db';
import {
  buildCoverageReport,
  buildSyncPlan,
  hasHistoryPacing,
  type CoverageReport as Report,
} from '@omni/sync-core';
import { Data, errorResponses, IdParams } from '../schemas/common.ts';
import { CoverageQuery, CoverageReport, SyncPlan, SyncPlanBody } from '../schemas/coverage.ts';
import { InstanceService } from '../services/instance-service.ts';
import { encodePlanId } from '../services/plan-id.ts';

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

  app.post(
    '/instances/:id/sync/plan',
    {
      schema: {
        tags: ['sync'],
        summary:
          'Plan a messages or catchup sync without running it: per chat the windows it would fetch, estimated messages and requests, ETA at the current budget; planId runs exactly it',
        params: IdParams,
        body: SyncPlanBody,
        response: { 200: Data(SyncPlan), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const instance = await instances.get(request.params.id);
      const depth = request.body.depth ?? (await app.deps.settings.get('sync.defaultDepth'));
      const budgetKey = `sync.${instance.channel === 'whatsapp-baileys' ? 'whatsapp' : instance.channel}.messagesPerMinute`;
      const requestsPerMinute = isSettingKey(budgetKey) ? Number(await app.deps.settings.get(budgetKey)) : 50;
      const plugin = app.deps.plugins.has(instance.channel) ? app.deps.plugins.get(instance.channel) : null;
      const anchorOnly = plugin?.capabilities.historyPaging === 'stored-message';
      // The platform's own history pace where it binds tighter than the budget (Slack's app tiers).
      const platform = plugin && hasHistoryPacing(plugin) ? await plugin.historyPacing() : null;
      const pacing =
        platform && platform.requestsPerMinute <= requestsPerMinute
          ? platform
          : {
              pageSize: platform?.pageSize ?? PAGE_SIZE[instance.channel] ?? 100,
              requestsPerMinute,
              reason: `the ${budgetKey} budget`,
            };
      const plan = await buildSyncPlan(app.deps.db.db, instance.id, {
        type: request.body.type,
        depth,
        ...(request.body.chatIds ? { chatIds: request.body.chatIds } : {}),
        pageSize: pacing.pageSize,
        requestsPerMinute: pacing.requestsPerMinute,
        anchorOnly,
      });
      return {
        data: {
          planId: encodePlanId({
            instanceId: instance.id,
            type: plan.type,
            depth: plan.depth,
            chatIds: plan.chats.map((c) => c.chatId),
            until: plan.until,
          }),
          type: plan.type,
          depth: plan.depth,
          since: isoOrNull(plan.since),
          until: iso(plan.until),
          estimatedMessages: plan.estimatedMessages,
          estimatedRequests: plan.estimatedRequests,
          unestimatedChats: plan.unestimatedChats,
          etaSeconds: plan.etaSeconds,
          pacing,
          method: PLAN_METHOD,
          chats: plan.chats.map((c) => ({
            chatId: c.chatId,
            messagesPerDay: c.messagesPerDay,
            windows: c.windows.map((w) => ({ ...w, from: iso(w.from), to: iso(w.to) })),
          })),
        },
      };
    },
  );
};

/** Messages per history request, per channel (the plugins' page sizes). */
const PAGE_SIZE: Record<string, number> = { discord: 100, 'whatsapp-baileys': 50 };

const PLAN_METHOD =
  "windows: the coverage ledger's gaps in the window, as the runner computes them; messages: the chat's stored density (stored ÷ span between its oldest and newest stored message) × the window's span, null for a chat with nothing stored (no probe page is made); requests: ⌊messages ÷ page⌋ + 1 per window (the channel's page; Slack's follows its app tier); ETA: requests at the instance's messagesPerMinute, or at the platform's own history limit where that is tighter (pacing says which)";
