import { type Logger, MediaStorageService, SyncRunner, type SyncRunnerOptions } from '@omni/sync-core';
import { CollectorPacer } from './collector-pacer.ts';
import { createRateLimiter } from './create-rate-limiter.ts';
import type { Services } from './open-services.ts';

/** Options of {@link createSyncRunner}. */
export interface CreateSyncRunnerOptions
  extends Partial<
    Pick<SyncRunnerOptions, 'leaseMs' | 'chatConcurrency' | 'onBatchCommitted' | 'mediaFetcher'>
  > {
  /**
   * Least time between two garbage collections while batches are written, ms; `0` leaves
   * collection to the runtime (see {@link CollectorPacer}). `WORKER_GC_INTERVAL_MS`.
   * @defaultValue 1_000
   */
  gcIntervalMs?: number;
}

/**
 * The `SyncRunner` of a process: the process's rate limiter (the budget shared through the
 * database; one is built when `services` has none), media storage from settings, events to the
 * process's bus (NATS or in-process), garbage collected at a steady pace while it writes.
 */
export function createSyncRunner(
  services: Pick<Services, 'db' | 'settings' | 'plugins' | 'cipher' | 'events' | 'jobs'> &
    Partial<Pick<Services, 'metrics' | 'limiter'>>,
  log: Logger,
  options: CreateSyncRunnerOptions = {},
): SyncRunner {
  const { gcIntervalMs, onBatchCommitted, ...runnerOptions } = options;
  const pacer = new CollectorPacer(gcIntervalMs === undefined ? {} : { intervalMs: gcIntervalMs });
  return new SyncRunner({
    db: services.db.db,
    plugins: services.plugins,
    limiter: services.limiter ?? createRateLimiter(services.db.db, services.settings),
    settings: services.settings,
    media: new MediaStorageService(services.db.db, { settings: services.settings }),
    cipher: services.cipher,
    events: services.events,
    logger: log,
    jobs: services.jobs,
    ...(services.metrics ? { metrics: services.metrics } : {}),
    ...runnerOptions,
    onBatchCommitted: (info) => {
      pacer.tick();
      onBatchCommitted?.(info);
    },
  });
}
