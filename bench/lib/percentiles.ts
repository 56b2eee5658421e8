/** Latency percentiles of raw samples, ms. */
export interface LatencySummary {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Nearest-rank percentile of an ascending array (`q` in [0, 1]). */
export function percentileOf(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Summarises latency samples (ms, any order); three decimals. */
export function summarizeLatencies(samples: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const r = (n: number) => Math.round(n * 1000) / 1000;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50Ms: r(percentileOf(sorted, 0.5)),
    p90Ms: r(percentileOf(sorted, 0.9)),
    p99Ms: r(percentileOf(sorted, 0.99)),
    maxMs: r(sorted[sorted.length - 1] ?? Number.NaN),
    meanMs: r(sorted.length ? sum / sorted.length : Number.NaN),
  };
}
