import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isSettingKey } from '@omni/db';
import { createRateLimiter } from '@omni/runtime';
import {
  buildCoverageReport,
  buildSyncPlan,
  hasHistoryPacing,
  hasHistoryProbe,
  PluginContextFactory,
  type CoverageReport as Report,
  chatId as toChatId,
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
  const contexts = new PluginContextFactory({
    limiter: app.deps.limiter ?? createRateLimiter(app.deps.db.db, app.deps.settings),
    cipher: app.deps.cipher,
  });
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
      const connected = instance.credentials !== null || instance.connection_state === 'open';
      const prober = plugin && connected && hasHistoryProbe(plugin) ? plugin : null;
      // One deadline for all the plan's probes: under a tight budget (a Slack unlisted app: one
      // request a minute) the chats left when it passes are planned without one.
      const probeDeadline = AbortSignal.timeout(PROBE_TIME_MS);
      const plan = await buildSyncPlan(app.deps.db.db, instance.id, {
        type: request.body.type,
        depth,
        ...(request.body.chatIds ? { chatIds: request.body.chatIds } : {}),
        pageSize: pacing.pageSize,
        requestsPerMinute: pacing.requestsPerMinute,
        anchorOnly,
        ...(prober
          ? {
              probe: async (chatId: string, window: { from: number | null; to: number }) => {
                if (probeDeadline.aborted) return null;
                const ctx = contexts.create(instance, { signal: probeDeadline });
                return prober.probeHistory(ctx, {
                  chatId: toChatId(chatId),
                  since: window.from,
                  until: window.to,
                });
              },
            }
          : {}),
      });
      return {
        data: {
          planId: encodePlanId({
            instanceId: instance.id,
            type: plan.type,
            depth: plan.depth,
            chatIds: plan.chats.map((c) => c.chatId),
            until: plan.until,
            estimate: { messages: plan.estimatedMessages, unestimatedChatIds: plan.unestimatedChatIds },
          }),
          type: plan.type,
          depth: plan.depth,
          since: isoOrNull(plan.since),
          until: iso(plan.until),
          estimatedMessages: plan.estimatedMessages,
          estimatedRequests: plan.estimatedRequests,
          probeRequests: plan.probeRequests,
          unestimatedChats: plan.unestimatedChats,
          etaSeconds: plan.etaSeconds,
          pacing,
          method: PLAN_METHOD,
          chats: plan.chats.map((c) => ({
            chatId: c.chatId,
            messagesPerDay: c.messagesPerDay,
            probe: c.probe
              ? {
                  ...(c.probe.oldestAt !== undefined ? { oldestAt: isoOrNull(c.probe.oldestAt) } : {}),
                  sampled: c.probe.sampled,
                  complete: c.probe.complete,
                }
              : null,
            windows: c.windows.map((w) => ({ ...w, from: iso(w.from), to: iso(w.to) })),
          })),
        },
      };
    },
  );
};

/** Messages per history request, per channel (the plugins' page sizes). */
const PAGE_SIZE: Record<string, number> = { discord: 100, 'whatsapp-baileys': 50 };

/** How long a plan may spend on its probe requests (rate-limit waits included), ms. */
const PROBE_TIME_MS = 20_000;

const PLAN_METHOD =
  "windows: the coverage ledger's gaps in the window, as the runner computes them; probe: for each chat's lowest window with nothing covered below it (the only one where its history can begin), one history request through the instance's rate budget, within 20 s for the whole plan (chats left then are not probed) (Discord: one page forward from the window's start, `after`, which shows where history begins and, when not full, every message of the window; Slack: one conversations.history page bounded by the window, exact with its roots' reply_count when has_more is false, else a density sample; WhatsApp: none — the phone answers only by pushing older messages than a stored one, which is the fetch itself); messages: the probe's exact count when its page held the whole window, else the chat's stored density (stored ÷ span between its oldest and newest stored message), or the probe page's when nothing is stored, × the window's span from where the probe saw history begin; null with neither; requests: ⌊messages ÷ page⌋ + 1 per window (the channel's page; Slack's follows its app tier), plus the probes (probeRequests, already made); ETA: requests at the instance's messagesPerMinute, or at the platform's own history limit where that is tighter (pacing says which)";
