import type { CredentialCipher, Database, SettingsService, SyncJob } from '@omni/db';
import type { Kysely } from 'kysely';
import type { Logger } from '../contract/channel-plugin.ts';
import { type EventSink, noopEventSink } from '../events/sync-event.ts';
import type { JobRepository } from '../jobs/job-repository.ts';
import type { MediaFetcher } from '../media/media-fetcher.ts';
import type { MediaStorageService } from '../media/media-storage.ts';
import { noopSyncMetrics, type SyncMetrics } from '../metrics/sync-metrics.ts';
import { type Clock, systemClock } from '../rate-limit/clock.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import type { DedupeWriter } from '../storage/dedupe-writer.ts';
import type { BatchCommitted } from './job-run.ts';
import { noopLogger } from './plugin-context-factory.ts';
import type { PluginRegistry } from './plugin-registry.ts';

/** Options of `SyncRunner`. */
export interface SyncRunnerOptions {
  db: Kysely<Database>;
  plugins: PluginRegistry;
  /** Paces every platform request (build it with `settingsRateSource(settings)`). */
  limiter: RateLimiter;
  /** `sync.defaultDepth` and rates; without it depth defaults to `7d`. */
  settings?: Pick<SettingsService, 'get'> | null;
  /** Stores media; without it no media is stored. */
  media?: MediaStorageService | null;
  /**
   * Fetches media for plugins (`PluginContext.fetchMedia`).
   * @defaultValue `new MediaFetcher({ settings })` (deadline and size cap from settings, `MEDIA_ALLOW_ORIGINS`)
   */
  mediaFetcher?: MediaFetcher | null;
  /** Decrypts instance credentials for plugins. */
  cipher?: Pick<CredentialCipher, 'decryptJson'> | null;
  /**
   * Receives `sync.*` events.
   * @defaultValue noopEventSink
   */
  events?: EventSink;
  /**
   * Logger for the runner and plugins.
   * @defaultValue noopLogger
   */
  logger?: Logger;
  /**
   * Time source for waits and ETA.
   * @defaultValue systemClock
   */
  clock?: Clock;
  /** Job repository (shares `db` by default). */
  jobs?: JobRepository;
  /** Dedupe writer (shares `db` by default). */
  writer?: DedupeWriter;
  /**
   * Chats of one instance synced at the same time (all within the instance's rate budget). When
   * not given, each job reads the `sync.chatConcurrency` setting as it starts (4 without settings).
   * @defaultValue the `sync.chatConcurrency` setting, else 4
   */
  chatConcurrency?: number;
  /**
   * Lease length, ms; renewed every third of it while the job runs.
   * @defaultValue 60000
   */
  leaseMs?: number;
  /**
   * Minimum interval between `sync.progress` events, ms (500 = at most 2 per second).
   * @defaultValue 500
   */
  progressIntervalMs?: number;
  /**
   * Retries of a chat whose history iterator throws `TransientError` (after the limiter's own retries).
   * @defaultValue 3
   */
  maxChatRetries?: number;
  /**
   * Backoff before the first chat retry, ms; doubled per retry.
   * @defaultValue 2000
   */
  retryBaseMs?: number;
  /**
   * Media files stored at the same time per job.
   * @defaultValue 4
   */
  mediaConcurrency?: number;
  /**
   * Called after each committed batch (tests, metrics).
   * @defaultValue no-op
   */
  onBatchCommitted?: (info: BatchCommitted) => void;
  /**
   * Told of platform requests, waits and committed batches, for an operator's metrics.
   * @defaultValue noopSyncMetrics
   */
  metrics?: SyncMetrics;
}

/** Defaults of the optional {@link SyncRunnerOptions}. */
export const DEFAULT_SYNC_RUNNER_OPTIONS = {
  settings: null,
  media: null,
  mediaFetcher: null,
  cipher: null,
  events: noopEventSink,
  logger: noopLogger,
  clock: systemClock,
  chatConcurrency: 4,
  leaseMs: 60_000,
  progressIntervalMs: 500,
  maxChatRetries: 3,
  retryBaseMs: 2000,
  mediaConcurrency: 4,
  onBatchCommitted: () => {},
  metrics: noopSyncMetrics,
} satisfies Required<Omit<SyncRunnerOptions, 'db' | 'plugins' | 'limiter' | 'jobs' | 'writer'>>;

/** How a run ended. */
export type RunStatus = 'completed' | 'failed' | 'cancelled' | 'released' | 'lease-lost';

/** Result of `SyncRunner.run`. */
export interface RunResult {
  status: RunStatus;
  /** The job row after the run (`null` when the lease was lost and the row was not read). */
  job: SyncJob | null;
  /** Why it failed. */
  error?: string;
}

/** Options of one run. */
export interface RunOptions {
  /**
   * Aborting it stops the run between batches. The abort reason says what follows: `'cancel'`
   * (or `'cancelled'`) marks the job cancelled, `'lease-lost'` leaves it alone (another worker owns
   * it), anything else is a shutdown: the job is given back (`released`, pending).
   */
  signal?: AbortSignal;
}
