import { type Kysely, sql } from 'kysely';

/**
 * One live socket per WhatsApp account across all processes: the process that opens the socket
 * holds the instance's row here and renews it; a row whose `expires_at` passed (its holder died)
 * may be taken over by another process.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE channel_sessions (
    instance_id uuid PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
    owner text NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}
