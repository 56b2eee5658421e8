import type { SyncProgress } from '../../packages/sync-core/src/index.ts';
import type { ScenarioContext } from './scenario.ts';
import { counterDiff, EXACT_COUNTERS, idSetDiff } from './verify.ts';
import { check, waitFor } from './wait.ts';
import type { WorkerProcess } from './worker-process.ts';
import { type SyncJob, SyncWorld, type SyncWorldOptions } from './world.ts';

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

/** A world whose worker process is a third of the way through a sync, ready for a fault. */
export interface SyncMidway {
  world: SyncWorld;
  worker: WorkerProcess;
  clean: CleanRun;
  instance: string;
  jobId: string;
  /** Messages stored when the fault may strike. */
  at: number;
}

/**
 * The common start of the restart scenarios: a world on one long seeded channel, a worker process,
 * a clean reference run, then a second sync of the same data followed until a third is stored.
 */
export async function syncToOneThird(
  context: Pick<ScenarioContext, 'config' | 'cleanup' | 'log'>,
  options: { seed: number; worker: string } & Partial<Pick<SyncWorldOptions, 'natsUrl' | 'databaseUrl'>>,
): Promise<SyncMidway> {
  const { config, cleanup, log } = context;
  const world = await SyncWorld.open({
    cleanup,
    natsUrl: options.natsUrl ?? config.natsUrl,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    fake: {
      data: {
        seed: options.seed,
        nowMs: Date.now() - 1000,
        guilds: [
          {
            name: options.worker.toUpperCase(),
            channels: [{ name: 'long', messageCount: config.sizes.syncMessages, historyDays: 10 }],
          },
        ],
      },
      latencyMs: 10,
    },
  });
  const worker = world.startWorker(options.worker);
  const clean = await cleanRun(world, { type: 'messages', depth: 'all' });
  log(`clean run: ${clean.progress.stored} messages in ${clean.runningMs} ms`);

  const instance = await world.connectedInstance('restart');
  const { jobId } = await world.postSync(instance, { type: 'messages', depth: 'all' });
  const third = Math.ceil(clean.progress.stored / 3);
  await waitFor(
    `job ${jobId} to store ${third}`,
    async () => Number((await world.job(jobId)).progress.stored ?? 0) >= third,
    { timeoutMs: 60_000 },
  );
  const at = Number((await world.job(jobId)).progress.stored ?? 0);
  return { world, worker, clean, instance, jobId, at };
}
