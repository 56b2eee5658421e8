import { type Kysely, sql } from 'kysely';

/**
 * One rate budget per platform identity, shared by every process (DESIGN.md invariant 9).
 *
 * `rate_budgets`: one row per (identity, bucket) — e.g. (`discord:token:<sha256>`, `global`) or
 * (`discord:token:<sha256>`, `channel:<id>`) — holding the bucket's window slots as JSON; every
 * take locks the row, so processes queue in one order. `rate_pauses`: a cooldown of a whole
 * identity (a 429 anywhere pauses it everywhere), and the probe state of a Cloudflare IP ban.
 * Times are ms since the epoch on the database's clock, so processes on different hosts agree.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE rate_budgets (
    identity text NOT NULL,
    bucket text NOT NULL,
    state jsonb NOT NULL DEFAULT '{"slots":[]}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (identity, bucket)
  )`.execute(db);
  await sql`CREATE TABLE rate_pauses (
    identity text PRIMARY KEY,
    until_ms double precision NOT NULL,
    reason text NOT NULL,
    probe boolean NOT NULL DEFAULT false,
    step integer NOT NULL DEFAULT 0,
    probe_holder text,
    probe_expires_ms double precision,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}
