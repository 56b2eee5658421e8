import { type Database, toJson } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import type { BucketState } from './bucket-slots.ts';
import type { BudgetStore, Mutation } from './budget-store.ts';
import { emptyPause, type PauseRow } from './pause-rules.ts';
import type { BudgetKey } from './rate-budget.ts';

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
 * `rate_pauses`; Postgres, or PGlite when embedded). Each mutation is one short transaction that
 * locks the row (`INSERT … ON CONFLICT DO UPDATE … RETURNING` creates and locks it in one
 * statement), computes the change with the shared rules and writes it back; `now` is the
 * database's clock.
 *
 * @example
 * ```ts
 * const budget = new SharedRateBudget(new PostgresBudgetStore(db));
 * ```
 */
export class PostgresBudgetStore implements BudgetStore {
  readonly #db: Kysely<Database>;

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

  mutateBucket<R>(key: BudgetKey, mutation: Mutation<BucketState, R>): Promise<R> {
    return this.#db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ state: BucketState; now: number }>`
        INSERT INTO rate_budgets (identity, bucket) VALUES (${key.identity}, ${key.bucket})
        ON CONFLICT (identity, bucket) DO UPDATE SET identity = EXCLUDED.identity
        RETURNING state, ${NOW_MS} AS now`.execute(trx);
      const row = rows[0]!;
      const state = typeof row.state === 'string' ? (JSON.parse(row.state) as BucketState) : row.state;
      const { next, result } = mutation(state, Number(row.now));
      await trx
        .updateTable('rate_budgets')
        .set({ state: toJson(next), updated_at: sql<Date>`now()` })
        .where('identity', '=', key.identity)
        .where('bucket', '=', key.bucket)
        .execute();
      return result;
    });
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
