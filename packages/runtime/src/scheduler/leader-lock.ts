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

/** Options of {@link PgAdvisoryLock}. */
export interface PgAdvisoryLockOptions {
  /**
   * The advisory lock key.
   * @defaultValue 0x6f6d6e69 ("omni")
   */
  key?: number;
  /**
   * How often the holding connection is checked.
   * @defaultValue 5_000
   */
  checkMs?: number;
}

/**
 * Leadership through a Postgres session advisory lock held on a dedicated connection taken from the
 * pool for as long as this process leads. If the connection dies, Postgres releases the lock and
 * another process can take it.
 */
export class PgAdvisoryLock implements LeaderLock {
  readonly #db: Kysely<Database>;
  readonly #key: number;
  readonly #checkMs: number;
  #held = false;
  #release: (() => void) | null = null;
  #session: Promise<void> | null = null;

  constructor(db: Kysely<Database>, options: PgAdvisoryLockOptions = {}) {
    this.#db = db;
    this.#key = options.key ?? 0x6f6d6e69;
    this.#checkMs = options.checkMs ?? 5_000;
  }

  get held(): boolean {
    return this.#held;
  }

  async tryAcquire(): Promise<boolean> {
    if (this.#held) return true;
    if (this.#session) await this.#session;
    return new Promise<boolean>((resolve) => {
      let answered = false;
      const answer = (value: boolean) => {
        if (!answered) {
          answered = true;
          resolve(value);
        }
      };
      this.#session = this.#db
        .connection()
        .execute(async (conn) => {
          const { rows } = await sql<{
            ok: boolean;
          }>`select pg_try_advisory_lock(${this.#key}) as ok`.execute(conn);
          if (!rows[0]?.ok) return answer(false);
          this.#held = true;
          answer(true);
          await new Promise<void>((done) => {
            this.#release = done;
            const check = setInterval(() => {
              sql`select 1`.execute(conn).catch(() => {
                clearInterval(check);
                done();
              });
            }, this.#checkMs);
            const original = done;
            this.#release = () => {
              clearInterval(check);
              original();
            };
          });
          this.#held = false;
          await sql`select pg_advisory_unlock(${this.#key})`.execute(conn).catch(() => {});
        })
        .catch(() => {
          this.#held = false;
          answer(false);
        })
        .finally(() => {
          this.#held = false;
          this.#session = null;
        });
    });
  }

  async release(): Promise<void> {
    this.#release?.();
    this.#release = null;
    await this.#session;
  }
}
