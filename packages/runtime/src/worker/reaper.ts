import type { Database } from '@omni/db';
import type { JobRepository, Logger } from '@omni/sync-core';
import { type Kysely, sql } from 'kysely';
import type { JobQueue } from '../queue/job-queue.ts';

/** Options of {@link Reaper}. */
export interface ReaperOptions {
  /**
   * How often the database is swept.
   * @defaultValue 5_000
   */
  intervalMs?: number;
  /**
   * A pending job untouched for this long, whose instance has no running job, is rung again (its
   * ticket may have been lost).
   * @defaultValue 15_000
   */
  stalePendingMs?: number;
}

/** Defaults of {@link ReaperOptions}. */
export const DEFAULT_REAPER_OPTIONS = {
  intervalMs: 5_000,
  stalePendingMs: 15_000,
} satisfies Required<ReaperOptions>;

/**
 * Re-dispatches from the database what the queue may have lost: running jobs whose lease expired
 * (their worker died) and pending jobs nobody picked up. The database is the truth; a lost NATS
 * message loses no job.
 */
export class Reaper {
  readonly #options: Required<ReaperOptions>;
  #timer: ReturnType<typeof setInterval> | null = null;
  #sweeping: Promise<number> | null = null;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      jobs: JobRepository;
      queue: JobQueue;
      log: Logger;
      /** Told how many expired leases each sweep hands on. */
      metrics?: { leaseTakeovers(count: number): void } | null;
    },
    options: ReaperOptions = {},
  ) {
    this.#options = { ...DEFAULT_REAPER_OPTIONS, ...options };
  }

  /** Sweeps now and then every `intervalMs`. */
  start(): void {
    if (this.#timer) return;
    void this.sweep().catch(() => {});
    this.#timer = setInterval(() => void this.sweep().catch(() => {}), this.#options.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#sweeping?.catch(() => 0);
  }

  /** One sweep; returns how many tickets were dispatched. */
  async sweep(): Promise<number> {
    if (this.#sweeping) return this.#sweeping;
    this.#sweeping = this.#sweep().finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<number> {
    const expired = await this.deps.jobs.findExpiredLeases(100);
    const stale = await this.deps.db
      .selectFrom('sync_jobs')
      .select(['id', 'instance_id'])
      .where('status', '=', 'pending')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('sync_jobs as r')
              .select('r.id')
              .whereRef('r.instance_id', '=', 'sync_jobs.instance_id')
              .where('r.status', '=', 'running'),
          ),
        ),
      )
      .where(
        'updated_at',
        '<',
        sql<Date>`now() - (${this.#options.stalePendingMs}::double precision * interval '1 millisecond')`,
      )
      .orderBy('created_at')
      .limit(100)
      .execute();
    const tickets = [
      ...expired.map((j) => ({ jobId: j.id, instanceId: j.instance_id })),
      ...stale.map((j) => ({ jobId: j.id, instanceId: j.instance_id })),
    ];
    for (const ticket of tickets) await this.deps.queue.dispatch(ticket);
    if (expired.length > 0) {
      this.deps.metrics?.leaseTakeovers(expired.length);
      this.deps.log.warn({ jobs: expired.map((j) => j.id) }, 'leases expired: jobs re-dispatched');
    }
    if (stale.length > 0) {
      await this.deps.db
        .updateTable('sync_jobs')
        .set({ updated_at: sql`now()` })
        .where(
          'id',
          'in',
          stale.map((j) => j.id),
        )
        .where('status', '=', 'pending')
        .execute();
    }
    return tickets.length;
  }
}
