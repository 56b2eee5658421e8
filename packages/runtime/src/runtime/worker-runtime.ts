import type { Database, SettingsService } from '@omni/db';
import type { JobRepository, Logger, PluginRegistry } from '@omni/sync-core';
import type { Kysely } from 'kysely';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { ProfileSyncService } from '../profile/profile-sync-service.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { LeaderLock } from '../scheduler/leader-lock.ts';
import { Leadership } from '../scheduler/leadership.ts';
import { SyncScheduler, type SyncSchedulerOptions } from '../scheduler/sync-scheduler.ts';
import type { JobExecutor } from '../worker/job-executor.ts';
import type { JobPlacement } from '../worker/job-placement.ts';
import { Reaper, type ReaperOptions } from '../worker/reaper.ts';
import { SyncWorker, type SyncWorkerOptions } from '../worker/sync-worker.ts';

/** What a worker process (or the embedded API) needs to run jobs. */
export interface WorkerRuntimeDeps {
  db: Kysely<Database>;
  settings: SettingsService;
  jobs: JobRepository;
  queue: JobQueue;
  profiles: ProfileSyncService;
  plugins: PluginRegistry;
  executor: JobExecutor;
  lock: LeaderLock;
  log: Logger;
  /** Where jobs may run (distributed WhatsApp: on the session's holder); absent → anywhere. */
  placement?: JobPlacement | null;
  /** Counts lease takeovers (the reaper's re-dispatches of expired leases). */
  metrics?: Pick<FleetMetrics, 'leaseTakeovers'> | null;
}

/** Tuning of {@link WorkerRuntime}. */
export interface WorkerRuntimeOptions {
  worker?: SyncWorkerOptions;
  reaper?: ReaperOptions;
  scheduler?: SyncSchedulerOptions;
  /**
   * How often a follower tries to become leader.
   * @defaultValue 5_000
   */
  leaderRetryMs?: number;
}

/**
 * A worker with its leader-only duties: the {@link SyncWorker} consumes tickets; the leader (one
 * per deployment, by {@link LeaderLock}) also runs the {@link Reaper} and the {@link SyncScheduler}.
 */
export class WorkerRuntime {
  readonly worker: SyncWorker;
  readonly reaper: Reaper;
  readonly scheduler: SyncScheduler;
  readonly leadership: Leadership;

  constructor(deps: WorkerRuntimeDeps, options: WorkerRuntimeOptions = {}) {
    this.worker = new SyncWorker(
      {
        db: deps.db,
        jobs: deps.jobs,
        queue: deps.queue,
        executor: deps.executor,
        log: deps.log,
        ...(deps.placement ? { placement: deps.placement } : {}),
      },
      options.worker,
    );
    this.reaper = new Reaper(
      { db: deps.db, jobs: deps.jobs, queue: deps.queue, log: deps.log, metrics: deps.metrics ?? null },
      options.reaper,
    );
    this.scheduler = new SyncScheduler(
      {
        db: deps.db,
        settings: deps.settings,
        jobs: deps.jobs,
        queue: deps.queue,
        profiles: deps.profiles,
        plugins: deps.plugins,
        log: deps.log,
      },
      options.scheduler,
    );
    this.leadership = new Leadership(
      deps.lock,
      [this.reaper, this.scheduler],
      deps.log,
      options.leaderRetryMs ?? 5_000,
    );
  }

  async start(): Promise<void> {
    await this.worker.start();
    await this.leadership.start();
  }

  /** Graceful: leader duties stop, running jobs checkpoint and are released. */
  async stop(): Promise<void> {
    await this.leadership.stop();
    await this.worker.stop();
  }
}
