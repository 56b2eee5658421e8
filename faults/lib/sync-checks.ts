import type { SyncProgress } from '../../packages/sync-core/src/index.ts';
import { counterDiff, EXACT_COUNTERS, idSetDiff } from './verify.ts';
import { check } from './wait.ts';
import type { SyncJob, SyncWorld } from './world.ts';

/** A finished reference sync. */
export interface CleanRun {
  job: SyncJob;
  progress: SyncProgress;
  /** From the claim to the end, ms. */
  runningMs: number;
}

/** Time from the claim to the end of a job, ms. */
export function runningMs(job: SyncJob): number {
  return (job.completed_at?.getTime() ?? 0) - (job.started_at?.getTime() ?? 0);
}

/** Runs a sync on a fresh instance without faults and checks it stored exactly the expected set. */
export async function cleanRun(
  world: SyncWorld,
  body: Record<string, unknown>,
  options: { name?: string; downloadMedia?: boolean; timeoutMs?: number } = {},
): Promise<CleanRun> {
  const instance = await world.connectedInstance(options.name ?? 'clean', options.downloadMedia ?? false);
  const { jobId } = await world.postSync(instance, body);
  const job = await world.waitFinished(jobId, options.timeoutMs ?? 90_000);
  check(job.status === 'completed', `clean run ended ${job.status}: ${job.error_message}`);
  const diff = idSetDiff(await world.storedIds(instance), world.expectedIds(job));
  check(diff === null, `clean run: ${diff}`);
  return { job, progress: world.progress(job), runningMs: runningMs(job) };
}

/**
 * What differs between a finished faulty job and the clean run: status, the stored set against
 * the fake's expected ids, and the exact counters (`keys`). Empty when the job kept every promise.
 */
export async function problemsAgainstClean(
  world: SyncWorld,
  instanceId: string,
  job: SyncJob,
  clean: CleanRun,
  keys: readonly (keyof SyncProgress)[] = EXACT_COUNTERS,
): Promise<string[]> {
  const problems: string[] = [];
  if (job.status !== 'completed') problems.push(`status ${job.status} (${job.error_message})`);
  const diff = idSetDiff(await world.storedIds(instanceId), world.expectedIds(job));
  if (diff) problems.push(diff);
  problems.push(...counterDiff(world.progress(job), clean.progress, keys));
  return problems;
}
