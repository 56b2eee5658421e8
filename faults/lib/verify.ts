import type { SyncProgress } from '../../packages/sync-core/src/index.ts';

/** The message counters of {@link EXACT_COUNTERS} (media counters left out). */
export const MESSAGE_COUNTERS = [
  'fetched',
  'stored',
  'duplicates',
  'updated',
  'failed',
  'chatsTotal',
  'chatsDone',
  'chatsExhausted',
  'chatsFailed',
] as const satisfies readonly (keyof SyncProgress)[];

/** Counters that do not depend on timing: a faulty run must end with the same values as a clean one. */
export const EXACT_COUNTERS = [
  ...MESSAGE_COUNTERS,
  'mediaDownloaded',
  'mediaSkipped',
  'mediaFailed',
  'mediaBytes',
] as const satisfies readonly (keyof SyncProgress)[];

/** Differences between two progress objects on `keys`, as `key a≠b` strings (empty when equal). */
export function counterDiff(
  actual: SyncProgress,
  clean: SyncProgress,
  keys: readonly (keyof SyncProgress)[] = EXACT_COUNTERS,
): string[] {
  return keys
    .filter((k) => actual[k] !== clean[k])
    .map((k) => `${k} ${JSON.stringify(actual[k])}≠${JSON.stringify(clean[k])}`);
}

/** What is wrong with `stored` against `expected` (both sorted): missing, extra and duplicate ids. */
export function idSetDiff(stored: readonly string[], expected: readonly string[]): string | null {
  const want = new Set(expected);
  const seen = new Set<string>();
  let duplicates = 0;
  let extra = 0;
  for (const id of stored) {
    if (seen.has(id)) duplicates++;
    seen.add(id);
    if (!want.has(id)) extra++;
  }
  const missing = expected.filter((id) => !seen.has(id)).length;
  if (missing === 0 && extra === 0 && duplicates === 0) return null;
  return `stored ${stored.length} vs expected ${expected.length}: ${missing} missing, ${extra} unexpected, ${duplicates} duplicate`;
}
