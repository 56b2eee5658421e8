import type { Database, SyncDepth } from '@omni/db';
import type { Kysely } from 'kysely';
import type { HistoryProbe } from '../contract/channel-plugin.ts';
import { sinceForDepth } from '../runner/sync-depth.ts';
import { readCoverage } from './coverage-ledger.ts';
import { uncoveredGaps } from './coverage-range.ts';

/** What {@link buildSyncPlan} is asked. */
export interface SyncPlanRequest {
  type: 'messages' | 'catchup';
  depth: SyncDepth;
  chatIds?: readonly string[];
  /** End of the window, UTC ms. @defaultValue now */
  until?: number;
  /** Start of the window, UTC ms (`null`: from the beginning), when not `depth`'s. */
  since?: number | null;
  /** Messages per history request of the channel (Discord 100, WhatsApp 50). */
  pageSize: number;
  /** The instance's current budget for history requests. */
  requestsPerMinute: number;
  /** The channel pages only back from a stored message: the newest gap is not fetched. */
  anchorOnly?: boolean;
  /**
   * One history request about a chat's window (the plugin's `probeHistory` through the instance's
   * rate budget), asked for each chat's lowest window when nothing covered lies below it — the
   * only window where the chat's history can begin. `null` when no request was made (the plan's
   * probe time is spent); a throw when the request failed. Without it the plan makes no request.
   */
  probe?: (chatId: string, window: { from: number | null; to: number }) => Promise<HistoryProbe | null>;
}

/** What a plan learnt from a chat's probe request. */
export interface PlanProbe {
  /** Oldest message in the probed window (UTC ms), `null` when it holds none, unknown when absent. */
  oldestAt?: number | null;
  sampled: number;
  /** The probe saw the whole window: its estimate is an exact count. */
  complete: boolean;
}

/** One chat of a plan. */
export interface ChatPlan {
  chatId: string;
  /** The windows `[from, to)` that would be fetched, newest first (UTC ms). */
  windows: { from: number; to: number; estimatedMessages: number | null; estimatedRequests: number | null }[];
  /** Messages per day the estimate assumes (stored history, else the probe's page); null when unknown. */
  messagesPerDay: number | null;
  /** The probe of the chat's lowest window, when one was made and answered. */
  probe: PlanProbe | null;
}

/** Answer of {@link buildSyncPlan}. Nothing is stored. */
export interface SyncPlan {
  type: 'messages' | 'catchup';
  depth: SyncDepth;
  since: number | null;
  until: number;
  chats: ChatPlan[];
  estimatedMessages: number;
  /** History requests of the sync, plus the plan's own probe requests. */
  estimatedRequests: number;
  /** Probe requests the plan made (already spent; counted in `estimatedRequests` and the ETA). */
  probeRequests: number;
  /** Chats with a window but no basis for an estimate (nothing stored and no probe answer). */
  unestimatedChats: number;
  /** Their ids. */
  unestimatedChatIds: string[];
  etaSeconds: number;
}

const DAY = 86_400_000;

/**
 * What a sync would fetch, per chat, without fetching: the gaps of the coverage ledger in the
 * window (as the runner computes them). Each chat's lowest gap with nothing covered below it — the
 * one window where its history may begin — is probed once when `request.probe` is given: a probe
 * that saw the whole window gives the exact count; otherwise the window is counted from where the
 * probe saw history begin. Messages: the chat's stored density (stored messages ÷ the span between
 * its oldest and newest stored message), else the probe page's, times the window's span from that
 * start. Requests: ⌊messages ÷ page⌋ + 1 per window (backwards paging's cost), plus the probes.
 * The ETA at the budget. A chat with neither stored history nor a probe answer has no basis: its
 * windows carry `null` estimates.
 */
export async function buildSyncPlan(
  db: Kysely<Database>,
  instanceId: string,
  request: SyncPlanRequest,
): Promise<SyncPlan> {
  const until = request.until ?? Date.now();
  const since = request.since !== undefined ? request.since : sinceForDepth(request.depth, until);
  const only = request.chatIds ? new Set(request.chatIds) : null;
  const [known, stats, ledger] = await Promise.all([
    db.selectFrom('chats').select('external_id').where('instance_id', '=', instanceId).execute(),
    db
      .selectFrom('messages')
      .select((eb) => [
        'chat_external_id',
        eb.fn.countAll<string>().as('n'),
        eb.fn.min('sent_at').as('oldest'),
        eb.fn.max('sent_at').as('newest'),
      ])
      .where('instance_id', '=', instanceId)
      .where('kind', 'not in', ['edit', 'revoke', 'reaction'])
      .groupBy('chat_external_id')
      .execute(),
    readCoverage(db, instanceId),
  ]);
  const byChat = new Map(stats.map((s) => [s.chat_external_id, s]));
  const ids = new Set([...known.map((k) => k.external_id), ...ledger.keys()]);
  const plan: SyncPlan = {
    type: request.type,
    depth: request.depth,
    since,
    until,
    chats: [],
    estimatedMessages: 0,
    estimatedRequests: 0,
    probeRequests: 0,
    unestimatedChats: 0,
    unestimatedChatIds: [],
    etaSeconds: 0,
  };
  for (const chatId of [...ids].sort()) {
    if (only && !only.has(chatId)) continue;
    const ranges = ledger.get(chatId) ?? [];
    const top = ranges.at(-1);
    if (request.type === 'catchup' && !top) continue;
    const from = request.type === 'catchup' ? (top?.to ?? until) : since;
    const s = byChat.get(chatId);
    const span = s ? new Date(s.newest as Date).getTime() - new Date(s.oldest as Date).getTime() : 0;
    const stored = s && Number(s.n) >= 2 && span > 0 ? Number(s.n) / span : null;
    const newestStored = s ? new Date(s.newest as Date).getTime() : null;
    const gaps = uncoveredGaps(ranges, from, until).filter(
      (gap) => !(request.anchorOnly && newestStored !== null && newestStored < gap.from),
    );
    if (gaps.length === 0) continue;
    const lowest = gaps.at(-1) as (typeof gaps)[number];
    let probe: HistoryProbe | null = null;
    if (request.probe && ranges.every((r) => r.from >= lowest.to)) {
      const probeFrom = lowest.from === 0 && from === null ? null : lowest.from;
      try {
        probe = await request.probe(chatId, { from: probeFrom, to: lowest.to });
        if (probe) plan.probeRequests += 1;
      } catch {
        // Asked and refused (an unreadable chat): a request spent, no basis gained.
        plan.probeRequests += 1;
      }
    }
    const sampled =
      probe && probe.sampled >= 2 && probe.sampleSpanMs > 0 ? probe.sampled / probe.sampleSpanMs : null;
    const density = stored ?? sampled;
    const windows: ChatPlan['windows'] = [];
    for (const gap of gaps) {
      let estimatedMessages: number | null =
        density === null ? null : Math.round(density * (gap.to - gap.from));
      if (gap === lowest && probe) {
        const start = probe.oldestAt == null ? gap.from : Math.max(gap.from, probe.oldestAt);
        estimatedMessages = probe.complete
          ? probe.sampled
          : probe.oldestAt === null
            ? 0
            : density === null
              ? null
              : Math.round(density * Math.max(0, gap.to - start));
      }
      const estimatedRequests =
        estimatedMessages === null ? null : Math.floor(estimatedMessages / request.pageSize) + 1;
      windows.push({ from: gap.from, to: gap.to, estimatedMessages, estimatedRequests });
      plan.estimatedMessages += estimatedMessages ?? 0;
      plan.estimatedRequests += estimatedRequests ?? 1;
    }
    if (windows.some((w) => w.estimatedMessages === null)) {
      plan.unestimatedChats += 1;
      plan.unestimatedChatIds.push(chatId);
    }
    plan.chats.push({
      chatId,
      windows,
      messagesPerDay: density === null ? null : Math.round(density * DAY),
      probe: probe
        ? {
            ...(probe.oldestAt !== undefined ? { oldestAt: probe.oldestAt } : {}),
            sampled: probe.sampled,
            complete: probe.complete,
          }
        : null,
    });
  }
  plan.estimatedRequests += plan.probeRequests;
  plan.etaSeconds = Math.ceil((plan.estimatedRequests / Math.max(1, request.requestsPerMinute)) * 60);
  return plan;
}
