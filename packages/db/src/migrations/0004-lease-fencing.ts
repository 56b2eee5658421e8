import { type Kysely, sql } from 'kysely';

/**
 * Fencing of job writes: `lease_epoch` grows on every claim of a job, so a worker's lease is
 * (owner, epoch) and a write of a run whose job was claimed again since (by another worker, or by
 * the same one) matches no row and commits nothing.
 *
 * `leader_leases`: leadership (scheduler, reaper) as a row with an expiry, renewed by its holder,
 * instead of a session advisory lock that a frozen (SIGSTOPped) process keeps for as long as its
 * connection lives.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sync_jobs ADD COLUMN lease_epoch integer NOT NULL DEFAULT 0`.execute(db);
  await sql`CREATE TABLE leader_leases (
    name text PRIMARY KEY,
    owner text NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}
