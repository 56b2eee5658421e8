import type { Database } from '@omni/db';
import type { Kysely } from 'kysely';

/** Ids of active WhatsApp instances with stored credentials: the sessions to run after a restart. */
export async function storedWhatsAppSessions(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('instances')
    .select('id')
    .where('channel', '=', 'whatsapp-baileys')
    .where('is_active', '=', true)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('whatsapp_auth')
          .select('key')
          .whereRef('whatsapp_auth.instance_id', '=', 'instances.id')
          .where('whatsapp_auth.key', '=', 'creds'),
      ),
    )
    .execute();
  return rows.map((r) => r.id);
}
