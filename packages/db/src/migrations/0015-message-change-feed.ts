import { type Kysely, sql } from 'kysely';

/** Chats of one instance one statement may touch and still be notified one by one. */
const CHATS_PER_NOTIFY = 100;

/** The body of a notifying trigger function over `rows` (its transition tables). */
const notifyFunction = (name: string, rows: string) => sql`CREATE FUNCTION ${sql.raw(name)}() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('omni_messages', payload) FROM (
      SELECT CASE WHEN count(*) OVER (PARTITION BY instance_id) > ${sql.raw(String(CHATS_PER_NOTIFY))}
          THEN instance_id::text
          ELSE instance_id::text || ' ' || md5(chat_external_id) || ' ' || lo || ' ' || hi END AS payload
      FROM (
        SELECT instance_id, chat_external_id,
          floor(extract(epoch FROM min(sent_at)) * 1000)::text AS lo,
          ceil(extract(epoch FROM max(sent_at)) * 1000)::text AS hi
        FROM (${sql.raw(rows)}) r GROUP BY instance_id, chat_external_id
      ) per_chat
    ) s GROUP BY payload;
    RETURN NULL;
  END $$`;

/**
 * The message change feed: every statement that inserts, updates or deletes `messages` notifies
 * `omni_messages` (statement-level triggers over the statement's transition tables; delivered when
 * its transaction commits), so a reader that keeps what it read — the API's message-page cache —
 * drops exactly what changed. Payloads, fields separated by one space:
 *
 * - `<instance id> <md5 of the chat's platform id> <lo> <hi>`: messages of that chat whose
 *   `sent_at` lies in `[lo, hi]` (epoch milliseconds, widened to whole milliseconds) changed; one
 *   per chat the statement touched, an update's old and new rows both counted;
 * - `<instance id>`: anything of the instance may have changed — sent instead when one statement
 *   touches more than 100 chats of the instance.
 *
 * The chat travels as its md5 so a payload stays short whatever a platform's ids look like (a
 * collision only drops a page more). Costs ~0.05 ms per 100-row insert statement.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await notifyFunction(
    'messages_notify_change',
    'SELECT instance_id, chat_external_id, sent_at FROM changed',
  ).execute(db);
  await notifyFunction(
    'messages_notify_update',
    `SELECT instance_id, chat_external_id, sent_at FROM old_rows
     UNION ALL SELECT instance_id, chat_external_id, sent_at FROM new_rows`,
  ).execute(db);
  // A trigger with transition tables has one event.
  await sql`CREATE TRIGGER messages_notify_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_change()`.execute(
    db,
  );
  await sql`CREATE TRIGGER messages_notify_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_update()`.execute(db);
  await sql`CREATE TRIGGER messages_notify_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION messages_notify_change()`.execute(
    db,
  );
}
