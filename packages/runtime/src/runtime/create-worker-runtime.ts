import type { Logger } from '@omni/sync-core';
import { RunnerExecutor } from '../worker/runner-executor.ts';
import { createSyncRunner } from './create-runner.ts';
import type { Services } from './open-services.ts';
import type { WorkerConfig } from './worker-config.ts';
import { WorkerRuntime } from './worker-runtime.ts';

/** What {@link createWorkerRuntime} reads of a {@link WorkerConfig}. */
export type WorkerRuntimeConfig = Pick<
  WorkerConfig,
  'concurrency' | 'leaseMs' | 'gcIntervalMs' | 'reaperIntervalMs' | 'leaderRetryMs' | 'workerId'
>;

/**
 * The worker, reaper and scheduler of a process (not started) over its services: the process's
 * `SyncRunner` (see `createSyncRunner`) as executor, jobs placed as the services say (WhatsApp
 * jobs on their session's holder when scaled out), timings from the worker configuration.
 * Used by the separate worker and by the API's embedded worker.
 *
 * @example
 * ```ts
 * const runtime = createWorkerRuntime(services, loadWorkerConfig(), log);
 * await runtime.start();
 * ```
 */
export function createWorkerRuntime(
  services: Services,
  config: WorkerRuntimeConfig,
  log: Logger,
): WorkerRuntime {
  const runner = createSyncRunner(services, log, {
    leaseMs: config.leaseMs,
    gcIntervalMs: config.gcIntervalMs,
  });
  return new WorkerRuntime(
    {
      db: services.db.db,
      settings: services.settings,
      jobs: services.jobs,
      queue: services.queue,
      profiles: services.profiles,
      plugins: services.plugins,
      executor: new RunnerExecutor(runner, { db: services.db.db, metrics: services.metrics }),
      lock: services.lock,
      log,
      placement: services.placement,
      metrics: services.metrics,
    },
    {
      worker: {
        concurrency: config.concurrency,
        leaseMs: config.leaseMs,
        ...(config.workerId ? { id: config.workerId } : {}),
      },
      reaper: { intervalMs: config.reaperIntervalMs },
      leaderRetryMs: config.leaderRetryMs,
    },
  );
}
