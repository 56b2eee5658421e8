import type { Database } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import { holdLease, type JobRepository } from './job-repository.ts';
import type { JobLease } from './job-types.ts';
import type { ProgressDelta, SyncProgress } from './sync-progress.ts';

/** The outcome of one media item, as a job's progress counts it. */
export type MediaOutcomeCount =
  | { status: 'stored'; bytes: number }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string };

/**
 * Counts media outcomes in a job's progress (`mediaDownloaded` + `mediaBytes`, `mediaSkipped`,
 * `mediaFailed` with their reasons) once per item and job, with the item's final outcome. A failure
 * is remembered in `sync_job_media_failures`; when a later run of the same job (a resume, a
 * takeover) retries the item, its new outcome replaces the failure: the failure and its reason are
 * taken back in the transaction that counts the new one. Every write is under the run's lease (the
 * job row is held first; `LeaseLostError` when the lease is no longer current, nothing committed).
 *
 * @example
 * ```ts
 * const counter = new MediaOutcomeCounter(db, jobs);
 * await counter.count(lease, messageRowId, { status: 'failed', reason: 'not-found' }); // run 1
 * await counter.count(lease2, messageRowId, { status: 'stored', bytes: 1234 });     // run 2: 1 stored, 0 failed
 * ```
 */
export class MediaOutcomeCounter {
  readonly #db: Kysely<Database>;
  readonly #jobs: JobRepository;

  constructor(db: Kysely<Database>, jobs: JobRepository) {
    this.#db = db;
    this.#jobs = jobs;
  }

  /** Counts `outcome` for the media of message row `messageId`; returns the job's new progress. */
  count(lease: JobLease, messageId: string, outcome: MediaOutcomeCount): Promise<SyncProgress> {
    return this.#db.transaction().execute(async (trx) => {
      await holdLease(trx, lease);
      const earlier = await sql<{ reason: string }>`
        delete from sync_job_media_failures
        where job_id = ${lease.jobId}::uuid and message_id = ${messageId}::uuid
        returning reason`.execute(trx);
      const takenBack = earlier.rows[0]?.reason;
      if (outcome.status === 'failed') {
        await trx
          .insertInto('sync_job_media_failures')
          .values({ job_id: lease.jobId, message_id: messageId, reason: outcome.reason })
          .execute();
      }
      const counters: NonNullable<ProgressDelta['counters']> =
        outcome.status === 'stored'
          ? { mediaDownloaded: 1, mediaBytes: outcome.bytes }
          : outcome.status === 'skipped'
            ? { mediaSkipped: 1 }
            : { mediaFailed: 1 };
      if (takenBack !== undefined)
        counters.mediaFailed = ((counters.mediaFailed as number | undefined) ?? 0) - 1;
      return this.#jobs.updateProgress(
        lease,
        {},
        {
          counters,
          ...(outcome.status === 'skipped' ? { mediaSkipReason: outcome.reason } : {}),
          ...(outcome.status === 'failed' ? { mediaFailReason: outcome.reason } : {}),
          ...(takenBack !== undefined ? { mediaFailReasonTakenBack: takenBack } : {}),
        },
        trx,
      );
    });
  }
}
