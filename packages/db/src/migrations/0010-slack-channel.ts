import { type Kysely, sql } from 'kysely';

/** Slack joins the channels an instance can be (`instances.channel`). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE instances DROP CONSTRAINT instances_channel_check`.execute(db);
  await sql`ALTER TABLE instances ADD CONSTRAINT instances_channel_check
    CHECK (channel IN ('discord', 'whatsapp-baileys', 'slack'))`.execute(db);
}
