import { type Kysely, sql } from 'kysely';

/**
 * Edits, revokes and reactions are messages that act on another one. Their target is kept so an
 * edit or revoke that arrives before its target (history paged newest-first) is applied when the
 * target is stored. The partial index keeps that lookup cheap: only such rows are indexed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE messages ADD COLUMN target_external_id text`.execute(db);
  await sql`CREATE INDEX messages_target_idx ON messages (instance_id, chat_external_id, target_external_id)
    WHERE target_external_id IS NOT NULL`.execute(db);
}
