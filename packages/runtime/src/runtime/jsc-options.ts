/**
 * The JavaScriptCore options every omni-sync process runs with, unless its environment sets them.
 *
 * `BUN_JSC_useFTLJIT=false` turns off JSC's fourth tier, FTL, which compiles the hottest functions
 * once more, through B3, into faster machine code. On the 1,000,000-message memory bench that
 * compilation raised the resident set's high-water mark once, mid-run, by ~20 MB (131.9 → 153.7 MB
 * at 70 s, while the JS heap held 11.8 MB); without FTL the peak was 121.2 MB and the sync as fast
 * (BENCHMARKS.md, "memory"). The engine waits on Postgres and the platforms, so the third tier
 * (DFG) is enough.
 *
 * JSC reads its options once, as the process starts, so {@link relaunchWithProductionJsc}
 * re-executes the process (same pid, same arguments) with the missing ones added. An option the
 * environment already sets, to any value, is left as it is: `BUN_JSC_useFTLJIT=true` runs with FTL.
 */
export const PRODUCTION_JSC_ENV: Readonly<Record<string, string>> = Object.freeze({
  BUN_JSC_useFTLJIT: 'false',
});

/** The production options `env` does not set yet, or null when it sets them all. */
export function missingJscEnv(env: Record<string, string | undefined>): Record<string, string> | null {
  const missing = Object.entries(PRODUCTION_JSC_ENV).filter(([name]) => env[name] === undefined);
  return missing.length > 0 ? Object.fromEntries(missing) : null;
}

/**
 * `env` with the production options it lacks: what a launcher passes to a process it spawns
 * (the benches run their engine code this way, as the service does).
 */
export function withProductionJsc(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  return { ...env, ...missingJscEnv(env) };
}

/** What {@link relaunchWithProductionJsc} reads of the process and calls on it. */
export interface LaunchedProcess {
  env: Record<string, string | undefined>;
  execPath: string;
  execArgv: string[];
  argv: string[];
  execve?: (file: string, args: string[], env: Record<string, string | undefined>) => void;
}

/**
 * Re-executes this process with the production JSC options when its environment lacks one. Call
 * it before anything opens a socket or a file: the process image is replaced (the pid, its open
 * standard streams and its arguments stay). Where `process.execve` is missing, runs on as it is.
 */
export function relaunchWithProductionJsc(proc: LaunchedProcess = process): void {
  const missing = missingJscEnv(proc.env);
  if (!missing || typeof proc.execve !== 'function') return;
  proc.execve(proc.execPath, [proc.execPath, ...proc.execArgv, ...proc.argv.slice(1)], {
    ...proc.env,
    ...missing,
  });
}
