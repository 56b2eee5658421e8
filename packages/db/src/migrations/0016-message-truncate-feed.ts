import { type Kysely, sql } from 'kysely';

/**
 * The message change feed (migration 0015) hears a `TRUNCATE` of `messages` too — it fires no
 * delete trigger, and `TRUNCATE instances CASCADE` empties `messages` the same way: the statement
 * notifies `omni_messages` with an empty payload, which a listener reads as "anything may have
 * changed" (the API's message-page cache drops every page).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE FUNCTION messages_notify_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('omni_messages', '');
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER messages_notify_truncate AFTER TRUNCATE ON messages
    FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_truncate()`.execute(db);
}
