import type { CoverageReason } from '@omni/db';

export type { CoverageReason };

/** Every reason an edge of a covered range can carry. */
export const COVERAGE_REASONS: readonly CoverageReason[] = [
  'depth',
  'exhausted',
  'not-permitted',
  'failed',
  'cancelled',
  'live',
];

/**
 * A span `[from, to)` of a chat's history (UTC ms) whose messages are all stored, and why it stops
 * at each edge: `depth` (the window asked ended there), `exhausted` (the platform has nothing
 * older), `not-permitted`, `failed` (fetching stopped on an error or was interrupted there),
 * `cancelled`, `live` (newer messages arrive live: the range was extended by messages received live on
 * a connection open since before its end — WhatsApp `notify` upserts, see `extendLiveCoverage`;
 * Discord and Slack run on REST only here, so their edges are never `live`).
 */
export interface CoverageRange {
  from: number;
  to: number;
  fromReason: CoverageReason;
  toReason: CoverageReason;
}

/** A span `[from, to)` of a window that no range covers. */
export interface CoverageGap {
  from: number;
  to: number;
}

/** Sorts ranges and merges those that overlap or touch (the outer edges keep their reasons). */
export function mergeRanges(ranges: readonly CoverageRange[]): CoverageRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: CoverageRange[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r.from <= last.to) {
      if (r.to > last.to) {
        last.to = r.to;
        last.toReason = r.toReason;
      }
      continue;
    }
    out.push({ ...r });
  }
  return out;
}

/**
 * The parts of the window `[since, until)` (`since` null = from the beginning) no range covers,
 * newest first. Below a range whose lower edge is `exhausted` nothing is missing: the platform has
 * nothing older.
 */
export function uncoveredGaps(
  ranges: readonly CoverageRange[],
  since: number | null,
  until: number,
): CoverageGap[] {
  const merged = mergeRanges(ranges);
  const floor = merged[0]?.fromReason === 'exhausted' ? Math.max(since ?? 0, merged[0].from) : (since ?? 0);
  const gaps: CoverageGap[] = [];
  let cursor = until;
  for (let i = merged.length - 1; i >= 0 && cursor > floor; i -= 1) {
    const r = merged[i] as CoverageRange;
    if (r.from >= cursor) continue;
    if (r.to < cursor) gaps.push({ from: Math.max(r.to, floor), to: cursor });
    cursor = Math.min(cursor, r.from);
  }
  if (cursor > floor) gaps.push({ from: floor, to: cursor });
  return gaps.filter((g) => g.to > g.from);
}
