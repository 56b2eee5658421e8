import type { CoverageReason, Database, SyncDepth } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import { sinceForDepth } from '../runner/sync-depth.ts';
import { readCoverage } from './coverage-ledger.ts';
import { type CoverageRange, uncoveredGaps } from './coverage-range.ts';

/** Why a part of the requested window is missing. */
export type GapReason = CoverageReason | 'never-synced';

/** A missing part `[from, to)` of a chat's window, UTC ms, and why it is missing. */
export interface ReportGap {
  from: number;
  to: number;
  /** The reason on the covered edge that bounds the gap from above, or `never-synced`. */
  reason: GapReason;
}

/** One chat in a {@link CoverageReport}. */
export interface ChatCoverageReport {
  chatId: string;
  name: string | null;
  /** Covered ranges (merged), oldest first. */
  ranges: CoverageRange[];
  /** Holes inside the window below the newest covered point, newest first. */
  gaps: ReportGap[];
  /** What is newer than the newest covered point (not synced since), or `null`. */
  tail: { from: number; to: number } | null;
  /** No gap inside the window (the tail aside). */
  complete: boolean;
  /**
   * The newest covered edge is `live`: the ledger was last extended by messages received live
   * (WhatsApp while its socket stays open); what is newer arrives the same way.
   */
  live: boolean;
  /** Why the account cannot read the chat, when the last job skipped it. */
  notPermitted: string | null;
  storedCount: number;
  oldestMessageAt: number | null;
  newestMessageAt: number | null;
}

/** What {@link buildCoverageReport} answers. */
export interface CoverageReport {
  instanceId: string;
  depth: SyncDepth;
  /** The window looked at, UTC ms (`since` null = all history). */
  since: number | null;
  until: number;
  summary: {
    chats: number;
    /** Chats with no gap inside the window (tail aside). */
    complete: number;
    withGaps: number;
    neverSynced: number;
    notPermitted: number;
    /** Chats whose newest covered edge is `live`. */
    live: number;
    /** Gaps counted by reason. */
    gapReasons: Partial<Record<GapReason, number>>;
    storedMessages: number;
  };
  chats: ChatCoverageReport[];
}

/** Options of {@link buildCoverageReport}. */
export interface CoverageReportOptions {
  depth: SyncDepth;
  /** End of the window, UTC ms. @defaultValue now */
  until?: number;
  /** Only these chats. */
  chatIds?: readonly string[];
}

const ACTIONS = ['edit', 'revoke', 'reaction'];

/**
 * Per chat of an instance: what the coverage ledger says is stored completely (ranges with the
 * reason at each edge), the holes inside the window `[until - depth, until)` with the reason that
 * bounds each, what is newer than the newest covered point, and the stored messages (count, oldest,
 * newest); plus a summary. Chats are those the instance knows (`chats`), those with messages, and
 * those in the ledger.
 */
export async function buildCoverageReport(
  db: Kysely<Database>,
  instanceId: string,
  options: CoverageReportOptions,
): Promise<CoverageReport> {
  const until = options.until ?? Date.now();
  const since = sinceForDepth(options.depth, until);
  const only = options.chatIds ? [...options.chatIds] : null;
  if (only && only.length === 0) return emptyReport(instanceId, options.depth, since, until);
  let known = db.selectFrom('chats').select(['external_id', 'name']).where('instance_id', '=', instanceId);
  if (only) known = known.where('external_id', 'in', only);
  let counts = db
    .selectFrom('messages')
    .select((eb) => [
      'chat_external_id',
      eb.fn.countAll<string>().as('n'),
      eb.fn.min('sent_at').as('oldest'),
      eb.fn.max('sent_at').as('newest'),
    ])
    .where('instance_id', '=', instanceId)
    .where('kind', 'not in', ACTIONS)
    .groupBy('chat_external_id');
  if (only) counts = counts.where('chat_external_id', 'in', only);
  const lastStatus = await sql<{ chat_id: string; last_error: string | null; status: string }>`
    select distinct on (c.chat_id) c.chat_id, c.last_error, c.status
    from sync_job_chats c join sync_jobs j on j.id = c.job_id
    where j.instance_id = ${instanceId}::uuid
    order by c.chat_id, j.created_at desc`.execute(db);
  const [chats, stored, ledger] = await Promise.all([
    known.execute(),
    counts.execute(),
    readCoverage(db, instanceId, only ?? undefined),
  ]);
  const names = new Map(chats.map((c) => [c.external_id, c.name]));
  const storedBy = new Map(stored.map((s) => [s.chat_external_id, s]));
  const notPermitted = new Map(
    lastStatus.rows
      .filter((r) => r.status === 'skipped')
      .map((r) => [r.chat_id, r.last_error ?? 'not readable']),
  );
  const ids = new Set<string>([...names.keys(), ...storedBy.keys(), ...ledger.keys()]);
  const report = emptyReport(instanceId, options.depth, since, until);
  for (const chatId of [...ids].sort()) {
    if (only && !only.includes(chatId)) continue;
    const ranges = ledger.get(chatId) ?? [];
    const top = ranges.at(-1);
    const coveredTo = top ? Math.min(top.to, until) : null;
    const blocked = notPermitted.get(chatId) ?? null;
    const holes = uncoveredGaps(ranges, since, coveredTo ?? until);
    const gaps: ReportGap[] = holes.map((g) => ({
      ...g,
      reason: blocked
        ? 'not-permitted'
        : (ranges.find((r) => r.from === g.to)?.fromReason ?? (top ? 'depth' : 'never-synced')),
    }));
    const s = storedBy.get(chatId);
    const chat: ChatCoverageReport = {
      chatId,
      name: names.get(chatId) ?? null,
      ranges,
      gaps,
      tail: coveredTo !== null && coveredTo < until ? { from: coveredTo, to: until } : null,
      complete: gaps.length === 0 && !blocked,
      live: top?.toReason === 'live',
      notPermitted: blocked,
      storedCount: s ? Number(s.n) : 0,
      oldestMessageAt: s?.oldest ? new Date(s.oldest as Date).getTime() : null,
      newestMessageAt: s?.newest ? new Date(s.newest as Date).getTime() : null,
    };
    report.chats.push(chat);
    const sum = report.summary;
    sum.chats += 1;
    sum.storedMessages += chat.storedCount;
    if (blocked) sum.notPermitted += 1;
    else if (!top) sum.neverSynced += 1;
    if (chat.live) sum.live += 1;
    if (chat.complete) sum.complete += 1;
    else sum.withGaps += 1;
    for (const g of gaps) sum.gapReasons[g.reason] = (sum.gapReasons[g.reason] ?? 0) + 1;
  }
  return report;
}

function emptyReport(
  instanceId: string,
  depth: SyncDepth,
  since: number | null,
  until: number,
): CoverageReport {
  return {
    instanceId,
    depth,
    since,
    until,
    summary: {
      chats: 0,
      complete: 0,
      withGaps: 0,
      neverSynced: 0,
      notPermitted: 0,
      live: 0,
      gapReasons: {},
      storedMessages: 0,
    },
    chats: [],
  };
}
