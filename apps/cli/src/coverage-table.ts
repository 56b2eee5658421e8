/** A chat of `GET /instances/:id/coverage`, as the CLI reads it. */
export interface CoverageChatView {
  chatId: string;
  name: string | null;
  ranges: { from: string; to: string; fromReason: string; toReason: string }[];
  gaps: { from: string; to: string; reason: string }[];
  tail: { from: string; to: string } | null;
  complete: boolean;
  /** The newest covered edge is `live` (absent from older servers). */
  live?: boolean;
  notPermitted: string | null;
  storedCount: number;
  oldestMessageAt: string | null;
  newestMessageAt: string | null;
}

/** `GET /instances/:id/coverage`, as the CLI reads it. */
export interface CoverageView {
  depth: string;
  since: string | null;
  until: string;
  summary: {
    chats: number;
    complete: number;
    withGaps: number;
    neverSynced: number;
    notPermitted: number;
    live?: number;
    gapReasons: Record<string, number>;
    storedMessages: number;
  };
  chats: CoverageChatView[];
}

/** `2026-12-06T15:04:05.000Z` → `2026-12-06 15:04`; `-` for none. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.slice(0, 16).replace('T', ' ');
}

function span(from: string, to: string): string {
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms)) return '?';
  const hours = ms / 3_600_000;
  return hours >= 48
    ? `${Math.round(hours / 24)}d`
    : hours >= 1
      ? `${Math.round(hours)}h`
      : `${Math.round(ms / 60_000)}m`;
}

function status(chat: CoverageChatView): string {
  if (chat.notPermitted) return 'not permitted';
  if (chat.ranges.length === 0) return 'never synced';
  if (chat.complete) return chat.ranges[0]?.fromReason === 'exhausted' ? 'complete (all)' : 'complete';
  return `${chat.gaps.length} gap${chat.gaps.length === 1 ? '' : 's'}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The coverage report as a table a person reads: one row per chat (status, stored messages, oldest
 * and newest stored, what the oldest covered edge says, not synced since), then each gap with its
 * reason, then the summary.
 */
export function renderCoverage(report: CoverageView): string {
  const rows = [['CHAT', 'STATUS', 'STORED', 'OLDEST', 'NEWEST', 'COVERED FROM', 'NOT SYNCED SINCE']];
  const gapLines: string[] = [];
  for (const c of report.chats) {
    const label = c.name ? `${c.name} (${c.chatId})` : c.chatId;
    const first = c.ranges[0];
    rows.push([
      label,
      status(c),
      String(c.storedCount),
      shortTime(c.oldestMessageAt),
      shortTime(c.newestMessageAt),
      first ? `${shortTime(first.from)} [${first.fromReason}]` : '-',
      c.tail ? `${shortTime(c.tail.from)} (${span(c.tail.from, c.tail.to)})${c.live ? ' live' : ''}` : '-',
    ]);
    for (const g of c.gaps) {
      gapLines.push(
        `  ${label}: ${shortTime(g.from)} → ${shortTime(g.to)} (${span(g.from, g.to)}) ${g.reason}`,
      );
    }
    if (c.notPermitted) gapLines.push(`  ${label}: not permitted — ${c.notPermitted}`);
  }
  const s = report.summary;
  const reasons = Object.entries(s.gapReasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `coverage to ${report.depth} (${shortTime(report.since)} → ${shortTime(report.until)})`,
    table(rows),
    ...(gapLines.length > 0 ? ['', 'gaps:', ...gapLines] : []),
    '',
    `${s.chats} chats: ${s.complete} complete, ${s.withGaps} with gaps, ${s.neverSynced} never synced, ${s.notPermitted} not permitted${s.live ? `, ${s.live} live` : ''}; ${s.storedMessages} messages stored${reasons ? `; gaps by reason: ${reasons}` : ''}`,
  ].join('\n');
}

/** `POST /instances/:id/sync/plan`, as the CLI reads it. */
export interface PlanView {
  planId: string;
  type: string;
  depth: string;
  since: string | null;
  until: string;
  estimatedMessages: number;
  estimatedRequests: number;
  /** Probe requests the plan made (in `estimatedRequests`; absent from older servers). */
  probeRequests?: number;
  unestimatedChats: number;
  etaSeconds: number;
  chats: {
    chatId: string;
    messagesPerDay: number | null;
    windows: {
      from: string;
      to: string;
      estimatedMessages: number | null;
      estimatedRequests: number | null;
    }[];
  }[];
}

/** A plan as a table: one row per window to fetch, then the totals, the ETA and the planId. */
export function renderPlan(plan: PlanView): string {
  const rows = [['CHAT', 'WINDOW', 'SPAN', 'EST. MESSAGES', 'EST. REQUESTS']];
  for (const c of plan.chats) {
    for (const w of c.windows) {
      rows.push([
        c.chatId,
        `${shortTime(w.from)} → ${shortTime(w.to)}`,
        span(w.from, w.to),
        w.estimatedMessages === null ? '?' : String(w.estimatedMessages),
        w.estimatedRequests === null ? '?' : String(w.estimatedRequests),
      ]);
    }
  }
  const eta = plan.etaSeconds >= 120 ? `${Math.round(plan.etaSeconds / 60)} min` : `${plan.etaSeconds} s`;
  return [
    `plan: ${plan.type} to ${plan.depth} (${shortTime(plan.since)} → ${shortTime(plan.until)})`,
    rows.length > 1 ? table(rows) : '(nothing to fetch: the window is covered)',
    '',
    `${plan.chats.length} chats, ~${plan.estimatedMessages} messages, ~${plan.estimatedRequests} requests${plan.probeRequests ? ` (${plan.probeRequests} probes made)` : ''}, ETA ~${eta}${plan.unestimatedChats ? `; ${plan.unestimatedChats} chats never synced (not estimated)` : ''}`,
    `run it: omni-sync sync <instanceId> --plan ${plan.planId}`,
  ].join('\n');
}
