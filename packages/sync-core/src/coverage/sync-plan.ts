import type { Database, SyncDepth } from '@omni/db';
import type { Kysely } from 'kysely';
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
}

/** One chat of a plan. */
export interface ChatPlan {
  chatId: string;
  /** The windows `[from, to)` that would be fetched, newest first (UTC ms). */
  windows: { from: number; to: number; estimatedMessages: number | null; estimatedRequests: number | null }[];
  /** Messages the chat's stored history holds per day (the estimate's basis); null when unknown. */
  messagesPerDay: number | null;
}

/** Answer of {@link buildSyncPlan}. Nothing is stored. */
export interface SyncPlan {
  type: 'messages' | 'catchup';
  depth: SyncDepth;
  since: number | null;
  until: number;
  chats: ChatPlan[];
  estimatedMessages: number;
  estimatedRequests: number;
  /** Chats with a window but no basis for an estimate (never synced: no stored history). */
  unestimatedChats: number;
  etaSeconds: number;
}

const DAY = 86_400_000;

/**
 * What a sync would fetch, per chat, without fetching: the gaps of the coverage ledger in the
 * window (as the runner computes them), each estimated from the chat's stored density (stored
 * messages ÷ the span between its oldest and newest stored message) times the gap's span;
 * requests as ⌊messages ÷ page⌋ + 1 per window (backwards paging's cost); the ETA at the budget.
 * A chat with no stored history has no basis: its windows carry `null` estimates.
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
    unestimatedChats: 0,
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
    const density = s && Number(s.n) >= 2 && span > 0 ? Number(s.n) / span : null;
    const newestStored = s ? new Date(s.newest as Date).getTime() : null;
    const windows: ChatPlan['windows'] = [];
    for (const gap of uncoveredGaps(ranges, from, until)) {
      if (request.anchorOnly && newestStored !== null && newestStored < gap.from) continue;
      const estimatedMessages = density === null ? null : Math.round(density * (gap.to - gap.from));
      const estimatedRequests =
        estimatedMessages === null ? null : Math.floor(estimatedMessages / request.pageSize) + 1;
      windows.push({ from: gap.from, to: gap.to, estimatedMessages, estimatedRequests });
      plan.estimatedMessages += estimatedMessages ?? 0;
      plan.estimatedRequests += estimatedRequests ?? 1;
    }
    if (windows.length === 0) continue;
    if (windows.some((w) => w.estimatedMessages === null)) plan.unestimatedChats += 1;
    plan.chats.push({ chatId, windows, messagesPerDay: density === null ? null : Math.round(density * DAY) });
  }
  plan.etaSeconds = Math.ceil((plan.estimatedRequests / Math.max(1, request.requestsPerMinute)) * 60);
  return plan;
}
