import type { SyncJob } from '@omni/db';
import { type EventSubscription, type SyncEvent, statusOf } from '@omni/runtime';
import { PROGRESS_COUNTERS } from '@omni/sync-core';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../errors/api-error.ts';

/** Options of {@link JobSnapshots}. */
export interface JobSnapshotsOptions {
  /**
   * How long a pending or running job's row is reused before it is read again, ms. In between,
   * the job's `sync.progress` events (what its runner publishes every 500 ms, on the bus every API
   * process listens to) keep the snapshot's progress current, and every other event of the job
   * drops it at once; so this only bounds what no event carries — `cancelRequested` set through
   * another API process — and how long a missed event can go unnoticed.
   * @defaultValue 2_000
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
  /**
   * How long a read-ahead (a snapshot polled in the last quarter of its time to live, answered at
   * once) waits for others to share one query with, ms: a fleet of polled jobs is re-read a few
   * rows a query instead of one query a row. A poll that has to wait for its row is read at the
   * end of the current turn of the event loop, with every read then queued.
   * @defaultValue 25
   */
  readAheadBatchMs?: number;
  /** Clock, ms (tests). @defaultValue `performance.now` */
  now?: () => number;
}

/** Defaults of {@link JobSnapshotsOptions}. */
export const DEFAULT_JOB_SNAPSHOTS_OPTIONS = {
  activeTtlMs: 2_000,
  finishedTtlMs: 5_000,
  maxEntries: 10_000,
  readAheadBatchMs: 25,
  now: () => performance.now(),
} satisfies Required<JobSnapshotsOptions>;

interface Snapshot {
  /** The row as read, with the progress of the events applied since. */
  job: SyncJob;
  /** When a poll starts reading the row again in the background, still answering the snapshot. */
  refreshAt: number;
  /** When the snapshot is no longer answered: a poll waits for the row. */
  expiresAt: number;
  /** `at` of the last event applied, `null` before the first. */
  eventAt: string | null;
}

/** A read in flight; an event or invalidation of its job meanwhile marks it `stale`: not kept. */
interface Read {
  instanceId: string;
  stale: boolean;
}

/** A job's row waiting for the next query, and the callers waiting for it. */
interface QueuedRead {
  instanceId: string;
  jobId: string;
  read: Read;
  resolve: (job: SyncJob) => void;
  reject: (error: unknown) => void;
}

/** What {@link JobSnapshots.stats} counts since the start. */
export interface JobSnapshotStats {
  /** Answers from a snapshot. */
  hits: number;
  /** Answers that waited for a read of the row (no snapshot, or one past its time to live). */
  misses: number;
  /**
   * Rows read from the database, in the background too (a read shared by concurrent callers
   * counts once, several rows read by one query count one each).
   */
  reads: number;
  /** Queries that read rows (one per batch of rows read together). */
  queries: number;
  /** `sync.progress` events applied to a snapshot. */
  applied: number;
  /** Snapshots dropped by an event, a change through the API or an instance's deletion. */
  dropped: number;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Share of a snapshot's time to live after which a poll that hits it starts reading the row in
 * the background (answering the snapshot meanwhile): the snapshot never serves past its time to
 * live, and a job polled often is re-read before a poll has to wait for it.
 */
const REFRESH_AHEAD = 0.75;

/**
 * The job rows `GET /instances/:id/sync/:jobId` answers with, read with one query (the job of
 * that instance) and reused: dashboards poll this route, and a poll should not cost a database
 * round trip each time. Concurrent reads of one job share one query.
 *
 * While a job runs, its snapshot follows the job's `sync.progress` events on the event bus (which
 * carries the workers' events in both the embedded and the distributed mode): each one replaces
 * the snapshot's progress, so a poll answers what the runner last published — the same figures
 * the job's SSE stream shows — instead of re-reading the row. An event is applied only when it
 * cannot be older than what the snapshot holds: the job is running in the snapshot, the event is
 * not older than the last one applied, and none of its counters is below the snapshot's
 * (counters only grow); otherwise, and on every other event of the job, the snapshot is dropped
 * and the next poll reads the row. So is it when this process changes the job (cancel, resume,
 * instance delete), and a read racing any of these is not kept; a read racing an applied event is
 * kept with the more advanced of the two progresses.
 *
 * The row itself is read again after a time to live (2 s while the job is pending or running, 5 s
 * once finished); a poll in the last quarter of it starts that read in the background and is
 * answered from the snapshot, so a job polled often never makes a poll wait on the database.
 * Rows are read together: the read-aheads queued within `readAheadBatchMs` (25 ms), and the reads
 * polls wait for, queued within one turn of the event loop, share one query (`id = any(…)`), so a
 * fleet of polled jobs costs Postgres a query per batch rather than per job.
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
  /** Reads in flight by job id, so an event or invalidation meanwhile keeps them from being stored. */
  readonly #reads = new Map<string, Read[]>();
  /** Rows waiting for the next query, by `instanceId/jobId`. */
  readonly #queue = new Map<string, QueuedRead>();
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #flushSoon = false;
  readonly #stats: JobSnapshotStats = {
    hits: 0,
    misses: 0,
    reads: 0,
    queries: 0,
    applied: 0,
    dropped: 0,
  };
  #subscription: EventSubscription | null = null;

  constructor(deps: AppDeps, options: JobSnapshotsOptions = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_JOB_SNAPSHOTS_OPTIONS, ...options };
  }

  /** Subscribes to the job events that update or drop snapshots. */
  async start(): Promise<void> {
    this.#subscription ??= await this.#deps.events.subscribe({}, (event) => this.onEvent(event));
  }

  /** Counts since the start: answers from snapshots and from reads, database reads, events applied, drops. */
  stats(): JobSnapshotStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    await this.#subscription?.close();
    this.#subscription = null;
    await this.settled();
    this.#snapshots.clear();
  }

  /** Resolves once the reads now in flight (those started in the background too) are done. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /**
   * The job if it belongs to the instance; else a 404 naming what is missing. `fresh` skips the
   * snapshot (routes that act on the job's current state).
   */
  async get(instanceId: string, jobId: string, options: { fresh?: boolean } = {}): Promise<SyncJob> {
    if (options.fresh) return this.#read(instanceId, jobId);
    const snapshot = this.#snapshots.get(jobId);
    if (snapshot && snapshot.job.instance_id === instanceId) {
      const now = this.#options.now();
      if (snapshot.expiresAt > now) {
        this.#stats.hits++;
        // Read ahead in the background, so a job polled often never makes a poll wait for its row.
        if (snapshot.refreshAt <= now) this.#load(instanceId, jobId, false).catch(() => {});
        return snapshot.job;
      }
    }
    this.#stats.misses++;
    return this.#load(instanceId, jobId, true);
  }

  /**
   * The job's row, read once for all concurrent callers: with the reads queued by the end of this
   * turn of the event loop (`soon`, a poll waits for it), else with the next batch of read-aheads.
   */
  #load(instanceId: string, jobId: string, soon: boolean): Promise<SyncJob> {
    const key = `${instanceId}/${jobId}`;
    const pending = this.#inFlight.get(key);
    if (pending) {
      if (soon && this.#queue.has(key)) this.#scheduleFlush(true);
      return pending;
    }
    const read = new Promise<SyncJob>((resolve, reject) => {
      this.#queue.set(key, { instanceId, jobId, read: this.#track(instanceId, jobId), resolve, reject });
    }).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, read);
    this.#scheduleFlush(soon);
    return read;
  }

  #scheduleFlush(soon: boolean): void {
    if (this.#flushSoon) return;
    if (soon) {
      this.#flushSoon = true;
      setImmediate(() => this.#flush());
    } else {
      this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.readAheadBatchMs);
    }
  }

  /** Reads every queued row: one query for all of them. */
  #flush(): void {
    this.#flushSoon = false;
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    const batch = [...this.#queue.values()];
    this.#queue.clear();
    if (batch.length > 0) void this.#readBatch(batch);
  }

  async #readBatch(batch: QueuedRead[]): Promise<void> {
    this.#stats.queries++;
    const rows = new Map<string, SyncJob>();
    try {
      const only = batch.length === 1 ? batch[0] : undefined;
      const found = only
        ? [await this.#deps.jobs.findInstanceJob(only.instanceId, only.jobId)]
        : await this.#deps.jobs.findJobs(batch.map((q) => q.jobId));
      for (const row of found) if (row) rows.set(row.id, row);
    } catch (error) {
      for (const q of batch) {
        this.#untrack(q.jobId, q.read);
        q.reject(error);
      }
      return;
    }
    for (const q of batch) {
      this.#untrack(q.jobId, q.read);
      const row = rows.get(q.jobId);
      if (row && row.instance_id === q.instanceId) {
        if (!q.read.stale) this.#store(row);
        q.resolve(row);
      } else {
        this.#notFound(q.instanceId, q.jobId).then(q.reject, q.reject);
      }
    }
  }

  /**
   * An event of the bus: a `sync.progress` event that follows what the snapshot holds replaces
   * its progress; any other event drops the job's snapshot.
   */
  onEvent(event: SyncEvent): void {
    const snapshot = this.#snapshots.get(event.jobId);
    // Applied: a read of the job in flight is still kept, its row merged with what was applied.
    if (snapshot && event.type === 'sync.progress' && applyProgress(snapshot, event)) {
      this.#stats.applied++;
      return;
    }
    this.#markReads(event.jobId);
    if (!snapshot) return;
    this.#stats.dropped++;
    this.#snapshots.delete(event.jobId);
  }

  /** Drops the job's snapshot. */
  invalidate(jobId: string): void {
    this.#markReads(jobId);
    if (this.#snapshots.delete(jobId)) this.#stats.dropped++;
  }

  /** Drops the snapshots of every job of the instance. */
  invalidateInstance(instanceId: string): void {
    for (const reads of this.#reads.values()) {
      for (const read of reads) if (read.instanceId === instanceId) read.stale = true;
    }
    for (const [jobId, snapshot] of this.#snapshots) {
      if (snapshot.job.instance_id === instanceId) {
        this.#snapshots.delete(jobId);
        this.#stats.dropped++;
      }
    }
  }

  #markReads(jobId: string): void {
    const reads = this.#reads.get(jobId);
    if (reads) for (const read of reads) read.stale = true;
  }

  /** The job's row read now, on its own (`fresh`). */
  async #read(instanceId: string, jobId: string): Promise<SyncJob> {
    const read = this.#track(instanceId, jobId);
    this.#stats.queries++;
    let job: SyncJob | null;
    try {
      job = await this.#deps.jobs.findInstanceJob(instanceId, jobId);
    } finally {
      this.#untrack(jobId, read);
    }
    if (!job) throw await this.#notFound(instanceId, jobId);
    if (!read.stale) this.#store(job);
    return job;
  }

  /** A read of the job's row starting: events and invalidations of the job meanwhile mark it stale. */
  #track(instanceId: string, jobId: string): Read {
    const read: Read = { instanceId, stale: false };
    const reads = this.#reads.get(jobId);
    if (reads) reads.push(read);
    else this.#reads.set(jobId, [read]);
    this.#stats.reads++;
    return read;
  }

  #untrack(jobId: string, read: Read): void {
    const left = (this.#reads.get(jobId) ?? []).filter((r) => r !== read);
    if (left.length > 0) this.#reads.set(jobId, left);
    else this.#reads.delete(jobId);
  }

  /** The 404 of a job not found for this instance: naming the instance when it is missing too. */
  async #notFound(instanceId: string, jobId: string): Promise<ApiError> {
    const instance = await this.#deps.db.db
      .selectFrom('instances')
      .select('id')
      .where('id', '=', instanceId)
      .executeTakeFirst();
    return instance ? ApiError.notFound('sync job', jobId) : ApiError.notFound('instance', instanceId);
  }

  /**
   * Keeps a row just read. When the snapshot it replaces holds an event's progress that is ahead
   * of the row's (an event applied while the row was read), that progress stays: counters only
   * grow.
   */
  #store(row: SyncJob): void {
    const o = this.#options;
    const current = this.#snapshots.get(row.id);
    const keep =
      current !== undefined &&
      current.eventAt !== null &&
      row.status === 'running' &&
      ahead(current.job.progress, row.progress);
    const job = keep ? { ...row, progress: current.job.progress } : row;
    this.#snapshots.delete(job.id);
    if (this.#snapshots.size >= o.maxEntries) {
      const oldest = this.#snapshots.keys().next().value;
      if (oldest !== undefined) this.#snapshots.delete(oldest);
    }
    const ttl = FINISHED.has(job.status) ? o.finishedTtlMs : o.activeTtlMs;
    const now = o.now();
    this.#snapshots.set(job.id, {
      job,
      refreshAt: now + ttl * REFRESH_AHEAD,
      expiresAt: now + ttl,
      eventAt: keep ? current.eventAt : null,
    });
  }
}

/** Whether no counter of `a` is below `b`'s and one is above. */
function ahead(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  let above = false;
  for (const counter of PROGRESS_COUNTERS) {
    const x = Number(a[counter] ?? 0);
    const y = Number(b[counter] ?? 0);
    if (x < y) return false;
    if (x > y) above = true;
  }
  return above;
}

/**
 * Puts a running job's `sync.progress` event into its snapshot, when the event cannot be older
 * than what the snapshot holds; `false` (nothing changed) otherwise.
 */
function applyProgress(snapshot: Snapshot, event: SyncEvent): boolean {
  const { job } = snapshot;
  const progress = event.progress as Record<string, unknown> | undefined;
  if (job.status !== 'running' || statusOf(event) !== 'running') return false;
  if (progress === null || typeof progress !== 'object' || Array.isArray(progress)) return false;
  if (snapshot.eventAt !== null && event.at < snapshot.eventAt) return false;
  for (const counter of PROGRESS_COUNTERS) {
    const now = progress[counter];
    if (typeof now !== 'number' || now < Number(job.progress[counter] ?? 0)) return false;
  }
  snapshot.job = { ...job, progress: progress as SyncJob['progress'] };
  snapshot.eventAt = event.at;
  return true;
}
