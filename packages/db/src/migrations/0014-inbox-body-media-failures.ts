import { type Kysely, sql } from 'kysely';

/**
 * Two changes of issue 13's follow-up:
 *
 * - `history_inbox.body`: the pushed batch as zstd-compressed JSON (`bytea`), written instead of the
 *   uncompressed `payload` text. A history chunk's JSON (raw payloads included) shrinks about
 *   thirtyfold, so the inbox row — written on every push, beside the transaction that stores it —
 *   costs Postgres a fraction of the bytes, WAL and TOAST chunks. `payload` stays readable for rows
 *   an older process left; each row has exactly one of the two. `body` is `STORAGE EXTERNAL`: it is
 *   compressed already.
 * - `sync_job_media_failures`: the media items a job counted as failed (`mediaFailed`), with the
 *   reason counted. A later run of the same job (resume, takeover) that stores or skips such an item
 *   takes the failure back in the same transaction as it counts the new outcome, so each item is
 *   counted once per job, with its final outcome.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE history_inbox ALTER COLUMN payload DROP NOT NULL`.execute(db);
  await sql`ALTER TABLE history_inbox ADD COLUMN body bytea`.execute(db);
  await sql`ALTER TABLE history_inbox ALTER COLUMN body SET STORAGE EXTERNAL`.execute(db);
  await sql`ALTER TABLE history_inbox ADD CONSTRAINT history_inbox_one_payload
    CHECK ((payload IS NULL) <> (body IS NULL))`.execute(db);
  await sql`CREATE TABLE sync_job_media_failures (
    job_id uuid NOT NULL REFERENCES sync_jobs(id) ON DELETE CASCADE,
    message_id uuid NOT NULL,
    reason text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, message_id)
  )`.execute(db);
}
