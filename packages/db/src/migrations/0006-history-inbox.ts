import { type Kysely, sql } from 'kysely';

/**
 * What a platform pushes once (WhatsApp's history after linking, live messages) is written here
 * before it is processed, and deleted in the transaction that stores it: a push survives Postgres
 * outages and process restarts (every process running the channel replays the rows at start).
 * `payload` is the normalized batch as JSON text; stored uncompressed (`STORAGE EXTERNAL`) because
 * it is written once and read back only on replay, and compressing megabytes on every push costs
 * more than the space it saves.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE history_inbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    sync_type text NOT NULL,
    messages integer NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
  await sql`ALTER TABLE history_inbox ALTER COLUMN payload SET STORAGE EXTERNAL`.execute(db);
  await sql`CREATE INDEX history_inbox_instance_idx ON history_inbox (instance_id, id)`.execute(db);
}
