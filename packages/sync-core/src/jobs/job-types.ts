import type { SyncDepth, SyncJob, SyncJobStatus } from '@omni/db';
import type { JsonValue } from '../contract/ids.ts';

/**
 * What a sync job was asked to do. Two requests are identical when type and config are equal as
 * JSON (key order does not matter).
 */
export interface SyncJobConfig {
  /** How far back: `7d`, `30d`, `90d`, `1y`, `all`; absent = `sync.defaultDepth`. */
  depth?: SyncDepth;
  /** Only this chat (Discord channel id, WhatsApp JID). */
  channelId?: string;
  /** Download media for this job even when the instance does not ask for it. */
  downloadMedia?: boolean;
  /**
   * Fetch the whole window again, ignoring the coverage ledger (for edits and deletes): edited rows
   * are updated, rows the platform no longer has are marked deleted.
   */
  force?: boolean;
  /** Explicit window start (ISO 8601), instead of `depth`. */
  since?: string;
  /** Explicit window end (ISO 8601, exclusive); absent = the job's start. */
  until?: string;
  /** Only these chats (external ids). */
  chatIds?: string[];
  /**
   * The estimate of the sync plan the job runs (`POST /sync {planId}`), probes included: its
   * messages and the chats it had no basis for. The job's `estimatedTotal` then is this, not a
   * re-estimate without probes.
   */
  planEstimate?: { messages: number; unestimatedChatIds: string[] };
  [key: string]: JsonValue | undefined;
}

/** Options of {@link JobRepository.createJob}. */
export interface CreateJobOptions {
  /**
   * Refuse a new job (`JobQueueFullError`) when the instance already has this many pending jobs;
   * an identical job is still returned. Checked under the instance's creation lock.
   * @defaultValue no cap
   */
  maxPending?: number;
  /**
   * Which identical job is returned instead of a new one: one `pending` or `running`, or only a
   * `pending` one — so a request whose reason came after the running job started (a catch-up after
   * a reconnect) queues one job behind it, never more.
   * @defaultValue 'pending-or-running'
   */
  reuse?: 'pending-or-running' | 'pending';
}

/** Result of {@link JobRepository.createJob}. */
export interface CreateJobResult {
  job: SyncJob;
  /** `false` when an identical pending or running job was returned instead. */
  created: boolean;
}

/** Filters and paging of {@link JobRepository.listJobs}. */
export interface ListJobsOptions {
  status?: SyncJobStatus | readonly SyncJobStatus[];
  /**
   * Page size, 1–200.
   * @defaultValue 50
   */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string | null;
}

/** A page of jobs, newest first. */
export interface JobPage {
  items: SyncJob[];
  hasMore: boolean;
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  cursor: string | null;
}

/**
 * A run's hold on a job: the worker that claimed it and the claim's epoch (`sync_jobs.lease_epoch`,
 * one more on every claim). Every write of the run carries it and commits only while the job is
 * still `running` under exactly this owner and epoch, checked in the same statement or transaction
 * as the write; otherwise the write commits nothing and `LeaseLostError` is thrown.
 */
export interface JobLease {
  jobId: string;
  owner: string;
  epoch: number;
}

/** The lease a claimed job row carries (as returned by `claimJob`/`claimNext`). */
export function leaseOf(job: Pick<SyncJob, 'id' | 'lease_owner' | 'lease_epoch'>): JobLease {
  if (job.lease_owner === null) throw new Error(`job ${job.id} is not leased`);
  return { jobId: job.id, owner: job.lease_owner, epoch: job.lease_epoch };
}

/** Options of {@link JobRepository.completeJob}, `failJob` and `markCancelled`. */
export interface FinishJobOptions {
  /** When given, the job must still be held under this lease, else `LeaseLostError`. */
  lease?: JobLease;
}

/** Answer of {@link JobRepository.renewLease}. */
export interface LeaseState {
  leaseExpiresAt: Date;
  /** The cancel API was called: stop between batches. */
  cancelRequested: boolean;
}
