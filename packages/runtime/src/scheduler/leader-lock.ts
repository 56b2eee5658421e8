import type { Database } from '@omni/db';
import { type Kysely, sql } from 'kysely';

/** Who may run the scheduler and the reaper: exactly one process at a time. */
export interface LeaderLock {
  /** Tries to become leader; `true` when this process holds the lock now. */
  tryAcquire(): Promise<boolean>;
  /** `true` while the lock is held (the holding connection is alive). */
  readonly held: boolean;
  release(): Promise<void>;
}

/** The embedded default: one process, always the leader. */
export class SingleProcessLock implements LeaderLock {
  held = false;

  async tryAcquire(): Promise<boolean> {
    this.held = true;
    return true;
  }

  async release(): Promise<void> {
    this.held = false;
  }
}

/** Options of {@link PgLeaseLock}. */
export interface PgLeaseLockOptions {
  /** Id of this process, written as the lease's owner. */
  owner: string;
  /**
   * The role the lease is for (one row of `leader_leases`).
   * @defaultValue 'leader'
   */
  name?: string;
  /**
   * Lease length (`LEADER_LEASE_MS`): a leader that stops renewing (dead, frozen, cut off from
   * Postgres) is replaced after this.
   * @defaultValue 15_000
   */
  ttlMs?: number;
  /**
   * How often the leader renews.
   * @defaultValue ttlMs / 3
   */
  renewMs?: number;
}

/** Defaults of {@link PgLeaseLockOptions}. */
export const DEFAULT_PG_LEASE_LOCK_OPTIONS = {
  name: 'leader',
  ttlMs: 15_000,
} satisfies Partial<PgLeaseLockOptions>;

/**
 * Leadership as a lease row in Postgres (`leader_leases`): taken when free or expired, renewed every
 * `renewMs` by its holder, given up on `release()`. A process that stops renewing — dead, or frozen
 * by SIGSTOP while its connection stays open — loses it after `ttlMs`, and another process takes
 * over. The holder also counts the lease down on its own monotonic clock (from before each
 * acquire/renew was sent), so a process resumed after a freeze sees `held === false` at once
 * instead of acting on a lease that expired while it was stopped.
 */
export class PgLeaseLock implements LeaderLock {
  readonly #db: Kysely<Database>;
  readonly #owner: string;
  readonly #name: string;
  readonly #ttlMs: number;
  readonly #renewMs: number;
  #deadline = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(db: Kysely<Database>, options: PgLeaseLockOptions) {
    this.#db = db;
    this.#owner = options.owner;
    this.#name = options.name ?? DEFAULT_PG_LEASE_LOCK_OPTIONS.name;
    this.#ttlMs = options.ttlMs ?? DEFAULT_PG_LEASE_LOCK_OPTIONS.ttlMs;
    this.#renewMs = options.renewMs ?? Math.max(10, Math.floor(this.#ttlMs / 3));
  }

  get held(): boolean {
    return performance.now() < this.#deadline;
  }

  async tryAcquire(): Promise<boolean> {
    if (!(await this.#claim())) return false;
    this.#timer ??= setInterval(() => {
      void this.#claim()
        .then((ok) => {
          if (!ok) this.#stopRenewing();
        })
        .catch(() => {
          // Postgres unreachable: keep trying until the local deadline passes.
        });
    }, this.#renewMs);
    return true;
  }

  async release(): Promise<void> {
    this.#stopRenewing();
    await this.#db
      .deleteFrom('leader_leases')
      .where('name', '=', this.#name)
      .where('owner', '=', this.#owner)
      .execute()
      .catch(() => {});
  }

  /** Takes or renews the lease; `true` when this process holds it now. */
  async #claim(): Promise<boolean> {
    const sent = performance.now();
    const ttl = sql<Date>`now() + (${this.#ttlMs}::double precision * interval '1 millisecond')`;
    const row = await this.#db
      .insertInto('leader_leases')
      .values({ name: this.#name, owner: this.#owner, expires_at: ttl })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ owner: this.#owner, expires_at: ttl, updated_at: sql`now()` })
          .where((eb) =>
            eb.or([
              eb('leader_leases.owner', '=', this.#owner),
              eb('leader_leases.expires_at', '<', sql<Date>`now()`),
            ]),
          ),
      )
      .returning('owner')
      .executeTakeFirst();
    if (row?.owner !== this.#owner) {
      this.#deadline = 0;
      return false;
    }
    this.#deadline = sent + this.#ttlMs;
    return true;
  }

  #stopRenewing(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#deadline = 0;
  }
}
