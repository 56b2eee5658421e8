import type { SyncDepth } from '@omni/db';

const DAY_MS = 86_400_000;

/** Days of each finite depth. */
const DEPTH_DAYS: Record<Exclude<SyncDepth, 'all'>, number> = { '7d': 7, '30d': 30, '90d': 90, '1y': 365 };

/** True when `value` is a depth the API accepts. */
export function isSyncDepth(value: unknown): value is SyncDepth {
  return value === 'all' || (typeof value === 'string' && value in DEPTH_DAYS);
}

/** The oldest time (UTC ms) a depth reaches back from `until`; `null` for `all`. */
export function sinceForDepth(depth: SyncDepth, until: number): number | null {
  if (depth === 'all') return null;
  return until - DEPTH_DAYS[depth] * DAY_MS;
}
