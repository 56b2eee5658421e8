import { cpus, loadavg } from 'node:os';

/** The 1-, 5- and 15-minute load averages, two decimals (noisy runs show up here). */
export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg().map((n) => Number(n.toFixed(2)));
  return [a, b, c];
}

/** Rounds to `digits` decimals. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Prints one benchmark result as a JSON line on stdout, with `cores` and `loadavg` appended so a
 * figure taken on a busy machine can be recognised.
 */
export function printResult(fields: { bench: string } & Record<string, unknown>): void {
  console.log(JSON.stringify({ ...fields, cores: cpus().length, loadavg: loadAverage() }));
}

/** A progress note on stderr, prefixed with the bench name (stdout carries only JSON lines). */
export function logger(bench: string): (...parts: unknown[]) => void {
  return (...parts) => console.error(`[${bench}]`, ...parts);
}
