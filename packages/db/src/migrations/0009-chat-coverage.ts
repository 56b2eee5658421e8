import { type Kysely, sql } from 'kysely';

/**
 * The coverage ledger: per (instance, chat) the time ranges `[from_at, to_at)` whose history is
 * stored completely, and why each edge stops where it does (`depth` — the window asked ended there,
 * `exhausted` — the platform has nothing older, `not-permitted`, `failed`, `cancelled`, `live`).
 * Rows are written by the dedupe writer in the same statement (or transaction) as the batch that
 * extends them, merging ranges that touch; readers still merge overlaps, so a race between two
 * writers of one chat can only leave two rows for one covered span, never a false gap.
 * A job's chat row names the segment (`segment_since`, `segment_until`) its `cursor` belongs to,
 * since a chat's window can now be fetched as several gaps. Also admits the `catchup` job type (a messages sync of what is newer than each chat's newest
 * covered point).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE chat_coverage (
    id bigserial PRIMARY KEY,
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    chat_id text NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz NOT NULL,
    from_reason text NOT NULL,
    to_reason text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chat_coverage_span CHECK (from_at <= to_at),
    CONSTRAINT chat_coverage_reasons CHECK (
      from_reason IN ('depth', 'exhausted', 'not-permitted', 'failed', 'cancelled', 'live')
      AND to_reason IN ('depth', 'exhausted', 'not-permitted', 'failed', 'cancelled', 'live'))
  )`.execute(db);
  await sql`ALTER TABLE sync_job_chats ADD COLUMN segment_since timestamptz,
    ADD COLUMN segment_until timestamptz`.execute(db);
  await sql`ALTER TABLE sync_jobs DROP CONSTRAINT IF EXISTS sync_jobs_type_check`.execute(db);
  await sql`ALTER TABLE sync_jobs ADD CONSTRAINT sync_jobs_type_check
    CHECK (type IN ('profile', 'messages', 'contacts', 'groups', 'all', 'catchup'))`.execute(db);
  await sql`CREATE INDEX chat_coverage_chat_idx ON chat_coverage (instance_id, chat_id, from_at)`.execute(db);
}
