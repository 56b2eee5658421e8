import { type Database, toJson } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import type { BucketState } from './bucket-slots.ts';
import type { BucketMutation, BudgetStore, Mutation } from './budget-store.ts';
import { emptyPause, type PauseRow } from './pause-rules.ts';
import type { BudgetKey, BudgetRule } from './rate-budget.ts';

const NOW_MS = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::float8`;

interface PauseRecord {
  identity: string;
  until_ms: number;
  reason: string;
  probe: boolean;
  step: number;
  probe_holder: string | null;
  probe_expires_ms: number | null;
}

function toRow(r: PauseRecord): PauseRow {
  return {
    identity: r.identity,
    untilMs: Number(r.until_ms),
    reason: r.reason,
    probe: r.probe,
    step: Number(r.step),
    probeHolder: r.probe_holder,
    probeExpiresMs: r.probe_expires_ms === null ? null : Number(r.probe_expires_ms),
  };
}

/**
 * A {@link BudgetStore} in the database every process already shares (`rate_budgets`,
 * `rate_pauses`; Postgres, or PGlite when embedded). A take is two statements and no
 * transaction: read the state with the database's clock (and the pauses the take obeys, in the
 * same statement), compute the change with the shared rules, write it back only if the state is
 * still the one read (compare-and-set; on a miss, again). A release is one `UPDATE` (the rule of
 * `releaseSlot` in SQL, the row locked by the statement). Changes of one bucket are queued in
 * this process, so its own concurrent takes never miss each other's writes; only other processes
 * can make a compare-and-set miss. A take that has to wait writes nothing.
 *
 * A bucket write commits asynchronously (`synchronous_commit = off` for that statement alone): it
 * is visible to every other process the moment it commits, as any commit — only its flush to
 * disk is not waited for, which made up most of a take's cost. What that risks: a crash of the
 * database server itself (not of a client) may forget the slots taken in its last fraction of a
 * second (`wal_writer_delay`, 200 ms by default, up to three times that), so requests in the
 * first window after its recovery could exceed a limit once. Pauses (cooldowns, bans) stay
 * synchronous: they are rare and a forgotten one would last.
 * A pause change — rare — is one short transaction that locks the row (`INSERT … ON CONFLICT DO
 * UPDATE … RETURNING` creates and locks it in one statement).
 *
 * @example
 * ```ts
 * const budget = new SharedRateBudget(new PostgresBudgetStore(db));
 * ```
 */
export class PostgresBudgetStore implements BudgetStore {
  readonly #db: Kysely<Database>;
  /** The last change queued per bucket of this process: the next one runs after it. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async readPauses(identities: readonly string[]): Promise<{ now: number; rows: PauseRow[] }> {
    if (identities.length === 0) {
      const { rows } = await sql<{ now: number }>`SELECT ${NOW_MS} AS now`.execute(this.#db);
      return { now: Number(rows[0]!.now), rows: [] };
    }
    const { rows } = await sql<PauseRecord & { now: number; identity: string | null }>`
      SELECT n.now, p.identity, p.until_ms, p.reason, p.probe, p.step, p.probe_holder, p.probe_expires_ms
      FROM (SELECT ${NOW_MS} AS now) n
      LEFT JOIN rate_pauses p ON p.identity = ANY(${sql.val([...identities])}::text[])`.execute(this.#db);
    const now = Number(rows[0]!.now);
    const found = new Map<string, PauseRow>();
    for (const r of rows) if (r.identity !== null) found.set(r.identity, toRow(r as PauseRecord));
    return { now, rows: identities.map((id) => found.get(id) ?? emptyPause(id)) };
  }

  mutateBucket<R>(key: BudgetKey, mutation: BucketMutation<R>, pauses: readonly string[] = []): Promise<R> {
    return this.#queued(key, () => this.#mutateBucket(key, mutation, pauses));
  }

  /**
   * One statement instead of a read and a compare-and-set: `releaseSlot`'s rule in SQL (the
   * holder's slot counts its window from the database's now), the row locked by the `UPDATE`.
   */
  releaseSlot(key: BudgetKey, holder: string, rule: BudgetRule): Promise<void> {
    return this.#queued(key, async () => {
      await sql`
        UPDATE rate_budgets SET updated_at = now(), state = jsonb_build_object('slots', coalesce((
          SELECT jsonb_agg(
            CASE WHEN s.slot->>'h' = ${holder}
              THEN jsonb_build_object('t', ${NOW_MS} + ${rule.windowMs}::float8, 'h', NULL)
              ELSE s.slot END
            ORDER BY s.n)
          FROM jsonb_array_elements(state->'slots') WITH ORDINALITY AS s(slot, n)), '[]'::jsonb))
        FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
        WHERE identity = ${key.identity} AND bucket = ${key.bucket}
          AND state->'slots' @> jsonb_build_array(jsonb_build_object('h', ${holder}::text))`.execute(
        this.#db,
      );
    });
  }

  #queued<R>(key: BudgetKey, change: () => Promise<R>): Promise<R> {
    const id = `${key.identity}\u0000${key.bucket}`;
    const run = (this.#queues.get(id) ?? Promise.resolve()).then(change);
    const settled = run.then(
      () => {},
      () => {},
    );
    this.#queues.set(id, settled);
    void settled.then(() => {
      if (this.#queues.get(id) === settled) this.#queues.delete(id);
    });
    return run;
  }

  async #mutateBucket<R>(key: BudgetKey, mutation: BucketMutation<R>, pauses: readonly string[]): Promise<R> {
    const identities = sql.val([...pauses]);
    for (;;) {
      const { rows } = await sql<{
        now: number;
        state: BucketState | string | null;
        pauses: PauseRecord[] | string | null;
      }>`
        SELECT n.now, b.state, ${
          pauses.length === 0
            ? sql`NULL::jsonb`
            : sql`(SELECT jsonb_agg(to_jsonb(p)) FROM rate_pauses p WHERE p.identity = ANY(${identities}::text[]))`
        } AS pauses
        FROM (SELECT ${NOW_MS} AS now) n
        LEFT JOIN rate_budgets b ON b.identity = ${key.identity} AND b.bucket = ${key.bucket}`.execute(
        this.#db,
      );
      const row = rows[0]!;
      if (row.state === null) {
        await sql`INSERT INTO rate_budgets (identity, bucket) VALUES (${key.identity}, ${key.bucket})
          ON CONFLICT (identity, bucket) DO NOTHING`.execute(this.#db);
        continue;
      }
      const before = typeof row.state === 'string' ? row.state : JSON.stringify(row.state);
      const state = typeof row.state === 'string' ? (JSON.parse(row.state) as BucketState) : row.state;
      const found = new Map<string, PauseRow>();
      const records = typeof row.pauses === 'string' ? (JSON.parse(row.pauses) as PauseRecord[]) : row.pauses;
      for (const r of records ?? []) found.set(r.identity, toRow(r));
      const pauseRows = pauses.map((p) => found.get(p) ?? emptyPause(p));
      const { next, result } = mutation(state, Number(row.now), pauseRows);
      if (next === null) return result;
      // Compare-and-set on the state read: a change in between (another process's take or
      // release) makes this write miss, and the mutation runs again on the newer state.
      const written = await sql`
        UPDATE rate_budgets SET state = ${toJson(next)}::jsonb, updated_at = now()
        FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
        WHERE identity = ${key.identity} AND bucket = ${key.bucket} AND state = ${before}::jsonb`.execute(
        this.#db,
      );
      if (Number(written.numAffectedRows ?? 0n) === 1) return result;
    }
  }

  mutatePause<R>(identity: string, mutation: Mutation<PauseRow, R>): Promise<R> {
    return this.#db.transaction().execute(async (trx) => {
      const { rows } = await sql<PauseRecord & { now: number }>`
        INSERT INTO rate_pauses (identity, until_ms, reason) VALUES (${identity}, 0, '')
        ON CONFLICT (identity) DO UPDATE SET identity = EXCLUDED.identity
        RETURNING identity, until_ms, reason, probe, step, probe_holder, probe_expires_ms, ${NOW_MS} AS now`.execute(
        trx,
      );
      const row = rows[0]!;
      const { next, result } = mutation(toRow(row), Number(row.now));
      await trx
        .updateTable('rate_pauses')
        .set({
          until_ms: next.untilMs,
          reason: next.reason,
          probe: next.probe,
          step: next.step,
          probe_holder: next.probeHolder,
          probe_expires_ms: next.probeExpiresMs,
          updated_at: sql<Date>`now()`,
        })
        .where('identity', '=', identity)
        .execute();
      return result;
    });
  }
}
