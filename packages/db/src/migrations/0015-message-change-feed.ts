import { type Kysely, sql } from 'kysely';

/**
 * The message change feed: every statement that inserts, updates or deletes `messages` sends one
 * `NOTIFY omni_messages, '<instance id>'` per instance it touched (statement-level triggers over
 * the statement's transition table, so a batch of a thousand rows is one notification, delivered
 * when its transaction commits). Readers that keep what they read of an instance's messages (the
 * API's message-page cache) listen on the channel and drop it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE FUNCTION messages_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('omni_messages', s.instance_id::text)
      FROM (SELECT DISTINCT instance_id FROM changed) s;
      RETURN NULL;
    END $$`.execute(db);
  // A trigger with transition tables has one event; the three share the function (and the name
  // of their transition table).
  await sql`CREATE TRIGGER messages_notify_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_change()`.execute(
    db,
  );
  await sql`CREATE TRIGGER messages_notify_update AFTER UPDATE ON messages
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_change()`.execute(
    db,
  );
  await sql`CREATE TRIGGER messages_notify_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_change()`.execute(
    db,
  );
}
