import type { Database, SyncJob, SyncJobStatus, SyncJobType } from '@omni/db';
import { toJson } from '@omni/db';
import { type ExpressionBuilder, type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { isUuid, type JsonValue } from '../contract/ids.ts';
import { InstanceNotFoundError } from '../errors/instance-not-found-error.ts';
import { JobNotFoundError } from '../errors/job-not-found-error.ts';
import { JobQueueFullError } from '../errors/job-queue-full-error.ts';
import { JobStateError } from '../errors/job-state-error.ts';
import { LeaseLostError } from '../errors/lease-lost-error.ts';
import { decodeCursor, encodeCursor } from './job-cursor.ts';
import type {
  CreateJobOptions,
  CreateJobResult,
  FinishJobOptions,
  JobLease,
  JobPage,
  LeaseState,
  ListJobsOptions,
  SyncJobConfig,
} from './job-types.ts';
import {
  emptyProgress,
  type ProgressDelta,
  progressWithDelta,
  readProgress,
  type SyncProgress,
} from './sync-progress.ts';

const UNIQUE_VIOLATION = '23505';
const CLAIM_RETRIES = 5;

function isUniqueViolation(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNIQUE_VIOLATION
  );
}

/** The job row while `lease` is current (running under its owner and epoch). */
function heldBy(lease: JobLease) {
  return (eb: ExpressionBuilder<Database, 'sync_jobs'>) =>
    eb.and([
      eb('id', '=', lease.jobId),
      eb('status', '=', 'running'),
      eb('lease_owner', '=', lease.owner),
      eb('lease_epoch', '=', lease.epoch),
    ]);
}

/**
 * `id in (select … for update)`: the condition every change of a job's holder or state carries, so
 * it waits for the fenced writes in flight (they hold `for key share`, see {@link leaseFence}).
 */
export function lockedForUpdate(jobId: string): RawBuilder<boolean> {
  return sql<boolean>`id in (select id from sync_jobs where id = ${jobId}::uuid for update)`;
}

/**
 * `select id from sync_jobs … for key share` of the job while `lease` is current: as a CTE of a
 * batch statement (its writes gated on `exists (select 1 from fence)`) or as the first statement
 * of a transaction ({@link holdLease}). The lock is shared, so the batches of one job's chats run
 * side by side; every change of who holds the job (a claim, a release, an end) takes the row
 * `for update` ({@link lockedForUpdate}), which waits until the writes holding the fence
 * committed, and a write that starts after such a change finds no row (Postgres re-checks the
 * condition on the newest row version once the lock is granted).
 */
export function leaseFence(lease: JobLease): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`select id from sync_jobs
    where id = ${lease.jobId}::uuid and status = 'running' and lease_owner = ${lease.owner}
      and lease_epoch = ${lease.epoch}::int
    for key share`;
}

/**
 * Locks the job row for the rest of `trx` while `lease` is current, so the transaction's other
 * writes commit only under it: a claim waits for the transaction, and a transaction that starts
 * after a claim throws `LeaseLostError` here (its caller rolls back). The first statement of every
 * transaction of job writes.
 */
export async function holdLease(trx: Transaction<Database>, lease: JobLease): Promise<void> {
  const rows = await leaseFence(lease).execute(trx);
  if (rows.rows.length === 0) throw new LeaseLostError(lease.jobId, lease.owner);
}

function leaseUntil(leaseMs: number) {
  return sql<Date>`now() + (${leaseMs}::double precision * interval '1 millisecond')`;
}

/**
 * `sync_jobs` as a queue with leases. The database is the truth: a job's state lives here, and a
 * job whose lease expired is claimed again from its checkpoints. At most one job per instance is
 * `running` (a partial unique index guarantees it); other requests wait as `pending`.
 *
 * @example
 * ```ts
 * const jobs = new JobRepository(db);
 * const { job } = await jobs.createJob(instanceId, 'messages', { depth: '30d' });
 * const claimed = await jobs.claimNext('worker-1', 60_000);
 * ```
 */
export class JobRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Creates a `pending` job, or returns the identical (same type and config) job that is pending
   * or running for the instance. A request for an instance with a running job is queued behind it.
   * Throws `InstanceNotFoundError` for an unknown instance, `JobQueueFullError` past
   * `options.maxPending`.
   */
  async createJob(
    instanceId: string,
    type: SyncJobType,
    config: SyncJobConfig = {},
    options: CreateJobOptions = {},
  ): Promise<CreateJobResult> {
    if (!isUuid(instanceId)) throw new InstanceNotFoundError(instanceId);
    const configJson = toJson(config);
    return this.#db.transaction().execute(async (trx) => {
      // Serialises concurrent identical requests for one instance so only one row is created.
      await sql`select pg_advisory_xact_lock(hashtext(${`sync_jobs:${instanceId}`}))`.execute(trx);
      const instance = await trx
        .selectFrom('instances')
        .select('id')
        .where('id', '=', instanceId)
        .executeTakeFirst();
      if (!instance) throw new InstanceNotFoundError(instanceId);
      const existing = await trx
        .selectFrom('sync_jobs')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .where('type', '=', type)
        .where('status', 'in', options.reuse === 'pending' ? ['pending'] : ['pending', 'running'])
        .where(sql<boolean>`config = ${configJson}::jsonb`)
        .where('cancel_requested', '=', false)
        .orderBy('created_at')
        .limit(1)
        .executeTakeFirst();
      if (existing) return { job: existing, created: false };
      if (options.maxPending !== undefined) {
        const { pending } = await trx
          .selectFrom('sync_jobs')
          .select((eb) => eb.fn.countAll<string>().as('pending'))
          .where('instance_id', '=', instanceId)
          .where('status', '=', 'pending')
          .executeTakeFirstOrThrow();
        if (Number(pending) >= options.maxPending)
          throw new JobQueueFullError(instanceId, options.maxPending);
      }
      const job = await trx
        .insertInto('sync_jobs')
        .values({
          instance_id: instanceId,
          type,
          config: configJson,
          progress: toJson(emptyProgress()),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { job, created: true };
    });
  }

  /** The job, or `JobNotFoundError`. */
  async getJob(jobId: string): Promise<SyncJob> {
    const job = await this.findJob(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    return job;
  }

  /** The job, or `null` when there is none with this id. */
  async findJob(jobId: string): Promise<SyncJob | null> {
    if (!isUuid(jobId)) return null;
    const job = await this.#db.selectFrom('sync_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return job ?? null;
  }

  /** The job when it belongs to the instance, else `null`: one indexed read. */
  async findInstanceJob(instanceId: string, jobId: string): Promise<SyncJob | null> {
    if (!isUuid(jobId) || !isUuid(instanceId)) return null;
    const job = await this.#db
      .selectFrom('sync_jobs')
      .selectAll()
      .where('id', '=', jobId)
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    return job ?? null;
  }

  /**
   * The jobs of these ids that exist, in no particular order, with one query (ids that are not
   * UUIDs are skipped): callers holding many jobs (the API's job snapshots) re-read them together.
   */
  async findJobs(jobIds: readonly string[]): Promise<SyncJob[]> {
    const ids = [...new Set(jobIds.filter(isUuid))];
    if (ids.length === 0) return [];
    return this.#db
      .selectFrom('sync_jobs')
      .selectAll()
      .where(sql<boolean>`id = any(${ids}::uuid[])`)
      .execute();
  }

  /** Jobs of an instance, newest first, paged on (created_at, id). */
  async listJobs(instanceId: string, options: ListJobsOptions = {}): Promise<JobPage> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 200);
    if (!isUuid(instanceId)) return { items: [], hasMore: false, cursor: null };
    let query = this.#db
      .selectFrom('sync_jobs')
      .selectAll()
      .select(sql<string>`created_at::text`.as('created_at_text'))
      .where('instance_id', '=', instanceId);
    if (options.status !== undefined) {
      const statuses = typeof options.status === 'string' ? [options.status] : [...options.status];
      if (statuses.length === 0) return { items: [], hasMore: false, cursor: null };
      query = query.where('status', 'in', statuses);
    }
    if (options.cursor) {
      const decoded = decodeCursor(options.cursor);
      if (decoded && isUuid(decoded[1])) {
        query = query.where(
          sql<boolean>`(created_at, id) < (${decoded[0]}::timestamptz, ${decoded[1]}::uuid)`,
        );
      }
    }
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const items = page.map(({ created_at_text: _, ...job }) => job);
    return { items, hasMore, cursor: hasMore && last ? encodeCursor(last.created_at_text, last.id) : null };
  }

  /**
   * Claims one job for `owner`: `pending` (or `running` with an expired lease) → `running`, lease
   * set, `lease_epoch` and `attempts` bumped (every write of the previous holder is fenced out from
   * here on: see {@link JobLease}), `started_at` set on the first start. Returns `null` when the job is not
   * claimable, including when another job of its instance is running.
   */
  async claimJob(jobId: string, owner: string, leaseMs: number): Promise<SyncJob | null> {
    if (!isUuid(jobId)) return null;
    try {
      const rows = await sql<SyncJob>`
        update sync_jobs j set
          status = 'running', lease_owner = ${owner}, lease_expires_at = ${leaseUntil(leaseMs)},
          lease_epoch = j.lease_epoch + 1, attempts = j.attempts + 1, started_at = coalesce(j.started_at, now()), updated_at = now()
        where j.id = ${jobId}
          and ${lockedForUpdate(jobId)}
          and (
            (j.status = 'pending' and not exists (
              select 1 from sync_jobs r where r.instance_id = j.instance_id and r.status = 'running'))
            or (j.status = 'running' and j.lease_expires_at < now())
          )
        returning j.*`.execute(this.#db);
      return rows.rows[0] ?? null;
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /**
   * Claims the next job for `owner`: first a running job whose lease expired (its worker died),
   * else the oldest pending job among instances that have no running job. Instances are served
   * fairly: each has at most one job running, and the oldest waiting request goes first.
   * Returns `null` when nothing is claimable.
   */
  async claimNext(owner: string, leaseMs: number): Promise<SyncJob | null> {
    for (let attempt = 0; attempt < CLAIM_RETRIES; attempt += 1) {
      try {
        const rows = await sql<SyncJob>`
          with candidate as (
            select j.id from sync_jobs j
            where (j.status = 'pending' and not exists (
                     select 1 from sync_jobs r where r.instance_id = j.instance_id and r.status = 'running'))
               or (j.status = 'running' and j.lease_expires_at < now())
            order by (j.status = 'running') desc, j.created_at, j.id
            limit 1
            for update skip locked
          )
          update sync_jobs j set
            status = 'running', lease_owner = ${owner}, lease_expires_at = ${leaseUntil(leaseMs)},
            lease_epoch = j.lease_epoch + 1, attempts = j.attempts + 1, started_at = coalesce(j.started_at, now()), updated_at = now()
          from candidate
          where j.id = candidate.id
            and (j.status = 'pending' or (j.status = 'running' and j.lease_expires_at < now()))
          returning j.*`.execute(this.#db);
        return rows.rows[0] ?? null;
      } catch (error) {
        // Two workers picked two pending jobs of one instance at once: the index let one win.
        if (!isUniqueViolation(error)) throw error;
      }
    }
    return null;
  }

  /**
   * Extends a lease that is still current (job `running` under its owner and epoch). Throws
   * `LeaseLostError` when it is not. Tells whether cancel was requested.
   */
  async renewLease(lease: JobLease, leaseMs: number): Promise<LeaseState> {
    const row = await this.#db
      .updateTable('sync_jobs')
      .set({ lease_expires_at: leaseUntil(leaseMs), updated_at: sql`now()` })
      .where(heldBy(lease))
      .returning(['lease_expires_at', 'cancel_requested'])
      .executeTakeFirst();
    if (!row?.lease_expires_at) throw new LeaseLostError(lease.jobId, lease.owner);
    return { leaseExpiresAt: row.lease_expires_at, cancelRequested: row.cancel_requested };
  }

  /**
   * Gives a running job back (graceful shutdown): `running` → `pending`, checkpoints kept, so any
   * worker continues it. Returns `false` when the lease was no longer current.
   */
  async releaseLease(lease: JobLease): Promise<boolean> {
    const result = await this.#db
      .updateTable('sync_jobs')
      .set({ status: 'pending', lease_owner: null, lease_expires_at: null, updated_at: sql`now()` })
      .where(lockedForUpdate(lease.jobId))
      .where(heldBy(lease))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** `running` → `completed`. */
  async completeJob(jobId: string, options: FinishJobOptions = {}): Promise<SyncJob> {
    return this.#finish(jobId, 'completed', 'complete', ['running'], null, options);
  }

  /** `pending`/`running` → `failed` with `message`; checkpoints are kept for `resumeJob`. */
  async failJob(jobId: string, message: string, options: FinishJobOptions = {}): Promise<SyncJob> {
    return this.#finish(jobId, 'failed', 'fail', ['pending', 'running'], message, options);
  }

  /** `pending`/`running` → `cancelled` (the runner calls it once it stopped between batches). */
  async markCancelled(jobId: string, options: FinishJobOptions = {}): Promise<SyncJob> {
    return this.#finish(jobId, 'cancelled', 'cancel', ['pending', 'running'], null, options);
  }

  /**
   * Asks a job to stop: a pending job is cancelled at once; a running one gets
   * `cancel_requested = true` and its runner stops between batches. Cancelling a cancelled job
   * returns it unchanged; a completed or failed one throws `JobStateError`.
   */
  async requestCancel(jobId: string): Promise<SyncJob> {
    const job = await this.getJob(jobId);
    if (job.status === 'cancelled') return job;
    if (job.status === 'completed' || job.status === 'failed') {
      throw new JobStateError(jobId, job.status, 'cancel');
    }
    const pending = await this.#db
      .updateTable('sync_jobs')
      .set({
        status: 'cancelled',
        cancel_requested: true,
        completed_at: sql`now()`,
        updated_at: sql`now()`,
      })
      .where('id', '=', jobId)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    if (pending) return pending;
    const running = await this.#db
      .updateTable('sync_jobs')
      .set({ cancel_requested: true, updated_at: sql`now()` })
      .where('id', '=', jobId)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst();
    if (running) return running;
    return this.requestCancel(jobId);
  }

  /**
   * `failed`/`cancelled` → `pending` with the same checkpoints, so a worker continues where it
   * stopped. A pending or running job is returned unchanged; a completed one throws `JobStateError`.
   */
  async resumeJob(jobId: string): Promise<SyncJob> {
    const job = await this.getJob(jobId);
    if (job.status === 'pending' || job.status === 'running') return job;
    if (job.status === 'completed') throw new JobStateError(jobId, job.status, 'resume');
    const resumed = await this.#db
      .updateTable('sync_jobs')
      .set({
        status: 'pending',
        cancel_requested: false,
        error_message: null,
        completed_at: null,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', jobId)
      .where('status', 'in', ['failed', 'cancelled'])
      .returningAll()
      .executeTakeFirst();
    return resumed ?? this.resumeJob(jobId);
  }

  /** Running jobs whose lease has expired (their worker died), oldest first, for a reaper. */
  async findExpiredLeases(limit = 100): Promise<SyncJob[]> {
    return this.#db
      .selectFrom('sync_jobs')
      .selectAll()
      .where('status', '=', 'running')
      .where('lease_expires_at', '<', sql<Date>`now()`)
      .orderBy('lease_expires_at')
      .limit(limit)
      .execute();
  }

  /** True when cancel was requested for the job (read between batches). */
  async isCancelRequested(jobId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('sync_jobs')
      .select('cancel_requested')
      .where('id', '=', jobId)
      .executeTakeFirst();
    return row?.cancel_requested ?? false;
  }

  /**
   * Merges top-level fields into the job's progress and applies counter deltas, in one atomic
   * statement that commits only while `lease` is current (else `LeaseLostError`); returns the new
   * progress. `db` may be a transaction so progress commits with other writes.
   */
  async updateProgress(
    lease: JobLease,
    patch: { [key: string]: JsonValue | undefined },
    delta: ProgressDelta = {},
    db: Kysely<Database> | Transaction<Database> = this.#db,
  ): Promise<SyncProgress> {
    const row = await db
      .updateTable('sync_jobs')
      .set({
        progress: sql<string>`(${progressWithDelta(delta)}) || ${toJson(patch)}::jsonb`,
        updated_at: sql`now()`,
      })
      .where(heldBy(lease))
      .returning('progress')
      .executeTakeFirst();
    if (!row) throw new LeaseLostError(lease.jobId, lease.owner);
    return readProgress(row.progress);
  }

  async #finish(
    jobId: string,
    status: SyncJobStatus,
    action: string,
    from: SyncJobStatus[],
    message: string | null,
    options: FinishJobOptions,
  ): Promise<SyncJob> {
    let query = this.#db
      .updateTable('sync_jobs')
      .set({
        status,
        error_message: message,
        completed_at: sql`now()`,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: sql`now()`,
      })
      .where('id', '=', jobId)
      .where(lockedForUpdate(jobId))
      .where('status', 'in', from);
    const lease = options.lease;
    if (lease !== undefined) {
      // A run ends only the job it still holds: a job given back to `pending` is not its to end
      // any more either (another worker may claim it).
      query = query.where(heldBy(lease));
    }
    const row = await query.returningAll().executeTakeFirst();
    if (row) return row;
    const job = await this.getJob(jobId);
    if (lease !== undefined && (job.status === 'running' || job.status === 'pending'))
      throw new LeaseLostError(jobId, lease.owner);
    throw new JobStateError(jobId, job.status, action);
  }
}
