import { type Kysely, sql } from 'kysely';

/**
 * `history_inbox.body`: the pushed batch as zstd-compressed JSON (`bytea`), written instead of the
 * uncompressed `payload` text. A history chunk's JSON (raw payloads included) shrinks about tenfold,
 * so the inbox row — written on every push, beside the transaction that stores it — costs Postgres a
 * tenth of the bytes, WAL and TOAST chunks. `payload` stays readable for rows an older process left;
 * each row has exactly one of the two. `body` is `STORAGE EXTERNAL`: it is compressed already.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE history_inbox ALTER COLUMN payload DROP NOT NULL`.execute(db);
  await sql`ALTER TABLE history_inbox ADD COLUMN body bytea`.execute(db);
  await sql`ALTER TABLE history_inbox ALTER COLUMN body SET STORAGE EXTERNAL`.execute(db);
  await sql`ALTER TABLE history_inbox ADD CONSTRAINT history_inbox_one_payload
    CHECK ((payload IS NULL) <> (body IS NULL))`.execute(db);
}
