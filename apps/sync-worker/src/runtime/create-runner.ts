import {
  type Logger,
  MediaStorageService,
  RateLimiter,
  SyncRunner,
  type SyncRunnerOptions,
  settingsRateSource,
} from '@omni/sync-core';
import type { Services } from './open-services.ts';

/**
 * The `SyncRunner` of a process: rate limiter and media storage from settings, events to the
 * process's bus (NATS or in-process).
 */
export function createSyncRunner(
  services: Pick<Services, 'db' | 'settings' | 'plugins' | 'cipher' | 'events' | 'jobs'>,
  log: Logger,
  options: Partial<Pick<SyncRunnerOptions, 'leaseMs' | 'chatConcurrency' | 'onBatchCommitted'>> = {},
): SyncRunner {
  return new SyncRunner({
    db: services.db.db,
    plugins: services.plugins,
    limiter: new RateLimiter({ rates: settingsRateSource(services.settings) }),
    settings: services.settings,
    media: new MediaStorageService(services.db.db, { settings: services.settings }),
    cipher: services.cipher,
    events: services.events,
    logger: log,
    jobs: services.jobs,
    ...options,
  });
}
