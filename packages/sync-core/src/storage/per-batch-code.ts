import { noFTL } from 'bun:jsc';

/**
 * Keeps a function that runs once per written batch out of FTL, JavaScriptCore's top tier; it
 * still reaches the DFG tier. Such functions — the batch statement with its inlined Kysely `sql`
 * templates, the column encoder, the progress and coverage expressions — are called ~10,000 times
 * in a 1,000,000-message sync: too rarely for FTL's faster code to repay its compile, and each
 * compile is large. JSC's compile report (`BUN_JSC_reportFTLCompileTimes=true`) on the `memory`
 * bench: the batch statement 1.2 s into 117 KB of code, the column encoder 0.5 s (twice), the
 * progress expression 0.27 s, the coverage statements 0.23 s; the native memory those compiles
 * took set the sync's peak resident set (151–156 MB, 136–138 MB with only the first two kept out;
 * BENCHMARKS.md, `memory`).
 */
export function perBatchCode(fn: Parameters<typeof noFTL>[0]): void {
  noFTL(fn);
}
