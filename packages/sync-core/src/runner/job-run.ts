import type { Database, Instance, SettingsService, SyncJob } from '@omni/db';
import type { Kysely } from 'kysely';
import type { ChannelPlugin, PluginContext } from '../contract/channel-plugin.ts';
import type { JobRepository } from '../jobs/job-repository.ts';
import type { JobLease, SyncJobConfig } from '../jobs/job-types.ts';
import type { MediaQueue } from '../media/media-queue.ts';
import type { Clock } from '../rate-limit/clock.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import type { DedupeWriter } from '../storage/dedupe-writer.ts';
import type { DirectoryWriter } from '../storage/directory-writer.ts';
import type { ProgressTracker } from './progress-tracker.ts';

/** Why a run stops before its end. */
export type StopReason = 'cancelled' | 'shutdown' | 'lease-lost' | 'error';

/** Facts about a committed batch, for observers (tests, metrics). */
export interface BatchCommitted {
  jobId: string;
  chatId: string;
  /** 1-based count of batches committed by this run. */
  batch: number;
  fetched: number;
  stored: number;
  duplicates: number;
  updated: number;
  final: boolean;
}

/** Everything one running job needs; built by the runner, shared by its parts. */
export interface JobRun {
  job: SyncJob;
  config: SyncJobConfig;
  /** The run's lease: every write of the run carries it and commits only while it is current. */
  lease: JobLease;
  instance: Instance;
  plugin: ChannelPlugin;
  ctx: PluginContext;
  /**
   * Context for media downloads: aborted by cancel, shutdown and lease loss (downloads in flight
   * stop), not when another chat fails (queued media is still stored).
   */
  mediaCtx: PluginContext;
  db: Kysely<Database>;
  jobs: JobRepository;
  writer: DedupeWriter;
  directory: DirectoryWriter;
  limiter: RateLimiter;
  settings: Pick<SettingsService, 'get'> | null;
  tracker: ProgressTracker;
  clock: Clock;
  /** Media queue when media is stored for this run (base64 always; URLs when asked). */
  media: MediaQueue | null;
  /** Messages whose media failed in this run (not retried by the backfill). */
  mediaFailedIds: Set<string>;
  /** Download media by URL (instance `download_media_on_sync` or job `downloadMedia`). */
  downloadMedia: boolean;
  chatConcurrency: number;
  maxChatRetries: number;
  retryBaseMs: number;
  onBatchCommitted: (info: BatchCommitted) => void;
  /** Counts committed batches of this run. */
  batches: number;
  /** Set once the run must stop between batches. */
  stopReason: StopReason | null;
  /** Throws when the run must stop (cancel requested, shutdown, lease lost, another chat failed). */
  checkStop(): Promise<void>;
}
