import { type Kysely, sql } from 'kysely';

/**
 * What Omni's dashboard reads:
 * - `chats` become the entity of a synced conversation: `message_count` and `media_count`, kept by
 *   a statement-level trigger on `messages` (one aggregate per insert statement, over its
 *   transition table), which also creates the chat row for messages of a chat never listed and
 *   moves `last_message_at` forward. Existing messages are counted once here.
 * - `messages_chat_media_idx`: `mediaOnly` pages of a chat read a partial index, not the chat.
 * - `chats_activity_idx`: the chat list by activity is a keyset walk.
 * - `instances.omni_config`: fields Omni's SDK sends for an instance (agent settings…) that
 *   omni-sync stores and echoes but does not act on.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE chats
    ADD COLUMN message_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN media_count bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`ALTER TABLE instances ADD COLUMN omni_config jsonb NOT NULL DEFAULT '{}'`.execute(db);
  await sql`CREATE INDEX messages_chat_media_idx ON messages (instance_id, chat_external_id, sent_at, id)
    WHERE has_media`.execute(db);
  await sql`CREATE INDEX chats_activity_idx ON chats (instance_id, last_message_at DESC NULLS LAST, id)`.execute(
    db,
  );
  await sql`CREATE FUNCTION chats_count_messages() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO chats AS c (instance_id, external_id, message_count, media_count, last_message_at)
      SELECT instance_id, chat_external_id,
        count(*) FILTER (WHERE kind NOT IN ('edit', 'revoke', 'reaction')),
        count(*) FILTER (WHERE has_media), max(sent_at)
      FROM inserted GROUP BY instance_id, chat_external_id
      ON CONFLICT (instance_id, external_id) DO UPDATE SET
        message_count = c.message_count + excluded.message_count,
        media_count = c.media_count + excluded.media_count,
        last_message_at = greatest(c.last_message_at, excluded.last_message_at);
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER messages_count_chats AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION chats_count_messages()`.execute(db);
  await sql`INSERT INTO chats AS c (instance_id, external_id, message_count, media_count, last_message_at)
    SELECT instance_id, chat_external_id,
      count(*) FILTER (WHERE kind NOT IN ('edit', 'revoke', 'reaction')),
      count(*) FILTER (WHERE has_media), max(sent_at)
    FROM messages GROUP BY instance_id, chat_external_id
    ON CONFLICT (instance_id, external_id) DO UPDATE SET
      message_count = excluded.message_count,
      media_count = excluded.media_count,
      last_message_at = greatest(c.last_message_at, excluded.last_message_at)`.execute(db);
}
