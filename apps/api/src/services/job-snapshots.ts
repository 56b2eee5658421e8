import type { SyncJob } from '@omni/db';
import type { EventSubscription } from '@omni/runtime';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../errors/api-error.ts';

/** Options of {@link JobSnapshots}. */
export interface JobSnapshotsOptions {
  /**
   * How long a pending or running job's row is reused, ms. The runner writes progress with each
   * batch and publishes `sync.progress` every 500 ms; every job event seen on the bus drops the
   * job's snapshot at once, so this only bounds how stale a reader in another process can be.
   * @defaultValue 250
   */
  activeTtlMs?: number;
  /**
   * How long a completed, failed or cancelled job's row is reused, ms. A finished job changes only
   * when it is resumed or its instance is deleted; both drop the snapshot in this process, and in
   * another API process it is stale for at most this long.
   * @defaultValue 5_000
   */
  finishedTtlMs?: number;
  /**
   * Most snapshots kept; the oldest is dropped first.
   * @defaultValue 10_000
   */
  maxEntries?: number;
  /** Clock, ms (tests). @defaultValue `performance.now` */
  now?: () => number;
}

/** Defaults of {@link JobSnapshotsOptions}. */
export const DEFAULT_JOB_SNAPSHOTS_OPTIONS = {
  activeTtlMs: 250,
  finishedTtlMs: 5_000,
  maxEntries: 10_000,
  now: () => performance.now(),
} satisfies Required<JobSnapshotsOptions>;

interface Snapshot {
  job: SyncJob;
  expiresAt: number;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * The job rows `GET /instances/:id/sync/:jobId` answers with, read with one query (the job of
 * that instance) and reused for a short time: dashboards poll this route, and a poll should not
 * cost a database round trip each time. Concurrent reads of one job share one query. A job's
 * snapshot is dropped when this process changes the job (cancel, resume, instance delete) and
 * when any event of the job arrives on the event bus (which carries the workers' events in both
 * the embedded and the distributed mode).
 *
 * @example
 * ```ts
 * const snapshots = new JobSnapshots(deps);
 * await snapshots.start();
 * const job = await snapshots.get(instanceId, jobId); // ApiError 404 when absent
 * ```
 */
export class JobSnapshots {
  readonly #deps: AppDeps;
  readonly #options: Required<JobSnapshotsOptions>;
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #inFlight = new Map<string, Promise<SyncJob>>();
  /** Bumped on every invalidation, so a read started before it is not cached after it. */
  #generation = 0;
  #subscription: EventSubscription | null = null;

  constructor(deps: AppDeps, options: JobSnapshotsOptions = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_JOB_SNAPSHOTS_OPTIONS, ...options };
  }

  /** Subscribes to the job events that drop snapshots. */
  async start(): Promise<void> {
    this.#subscription ??= await this.#deps.events.subscribe({}, (event) => this.invalidate(event.jobId));
  }

  async close(): Promise<void> {
    await this.#subscription?.close();
    this.#subscription = null;
    this.#snapshots.clear();
  }

  /**
   * The job if it belongs to the instance; else a 404 naming what is missing. `fresh` skips the
   * snapshot (routes that act on the job's current state).
   */
  async get(instanceId: string, jobId: string, options: { fresh?: boolean } = {}): Promise<SyncJob> {
    if (options.fresh) return this.#read(instanceId, jobId);
    const snapshot = this.#snapshots.get(jobId);
    if (snapshot && snapshot.job.instance_id === instanceId && snapshot.expiresAt > this.#options.now()) {
      return snapshot.job;
    }
    const key = `${instanceId}/${jobId}`;
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const read = this.#read(instanceId, jobId).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, read);
    return read;
  }

  /** Drops the job's snapshot. */
  invalidate(jobId: string): void {
    this.#generation++;
    this.#snapshots.delete(jobId);
  }

  /** Drops the snapshots of every job of the instance. */
  invalidateInstance(instanceId: string): void {
    this.#generation++;
    for (const [jobId, snapshot] of this.#snapshots) {
      if (snapshot.job.instance_id === instanceId) this.#snapshots.delete(jobId);
    }
  }

  async #read(instanceId: string, jobId: string): Promise<SyncJob> {
    const generation = this.#generation;
    const job = await this.#deps.jobs.findInstanceJob(instanceId, jobId);
    if (!job) {
      const instance = await this.#deps.db.db
        .selectFrom('instances')
        .select('id')
        .where('id', '=', instanceId)
        .executeTakeFirst();
      throw instance ? ApiError.notFound('sync job', jobId) : ApiError.notFound('instance', instanceId);
    }
    if (generation === this.#generation) this.#store(job);
    return job;
  }

  #store(job: SyncJob): void {
    const o = this.#options;
    this.#snapshots.delete(job.id);
    if (this.#snapshots.size >= o.maxEntries) {
      const oldest = this.#snapshots.keys().next().value;
      if (oldest !== undefined) this.#snapshots.delete(oldest);
    }
    const ttl = FINISHED.has(job.status) ? o.finishedTtlMs : o.activeTtlMs;
    this.#snapshots.set(job.id, { job, expiresAt: o.now() + ttl });
  }
}
