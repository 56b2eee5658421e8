import type { CredentialCipher, Database } from '@omni/db';
import type { Kysely } from 'kysely';

/**
 * Encrypted key-value storage of a channel session's auth state (WhatsApp creds and signal keys) in
 * the `whatsapp_auth` table: one row per (instance, key), the value a `CredentialCipher` envelope.
 * Structurally the `AuthStateStore` of `@omni/channel-whatsapp`, which never imports the database.
 *
 * @example
 * ```ts
 * const plugin = createWhatsAppPlugin({
 *   socketFactory: createBaileysSocketFactory(),
 *   authStore: new PostgresAuthStateStore(db, cipher),
 * });
 * ```
 */
export class PostgresAuthStateStore {
  readonly #db: Kysely<Database>;
  readonly #cipher: CredentialCipher;

  constructor(db: Kysely<Database>, cipher: CredentialCipher) {
    this.#db = db;
    this.#cipher = cipher;
  }

  /** Decrypted values of the given keys; absent keys are missing from the result. */
  async read(instanceId: string, keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (keys.length === 0) return out;
    const rows = await this.#db
      .selectFrom('whatsapp_auth')
      .select(['key', 'value'])
      .where('instance_id', '=', instanceId)
      .where('key', 'in', [...new Set(keys)])
      .execute();
    for (const row of rows) out.set(row.key, this.#cipher.decrypt(row.value, instanceId));
    return out;
  }

  /** Encrypts and upserts values; `null` deletes the key. One transaction per call. */
  async write(instanceId: string, entries: ReadonlyMap<string, string | null>): Promise<void> {
    if (entries.size === 0) return;
    const upserts: { instance_id: string; key: string; value: string }[] = [];
    const deletes: string[] = [];
    for (const [key, value] of entries) {
      if (value === null) deletes.push(key);
      else upserts.push({ instance_id: instanceId, key, value: this.#cipher.encrypt(value, instanceId) });
    }
    await this.#db.transaction().execute(async (trx) => {
      if (upserts.length > 0) {
        await trx
          .insertInto('whatsapp_auth')
          .values(upserts)
          .onConflict((oc) =>
            oc.columns(['instance_id', 'key']).doUpdateSet((eb) => ({
              value: eb.ref('excluded.value'),
              updated_at: new Date(),
            })),
          )
          .execute();
      }
      if (deletes.length > 0) {
        await trx
          .deleteFrom('whatsapp_auth')
          .where('instance_id', '=', instanceId)
          .where('key', 'in', deletes)
          .execute();
      }
    });
  }

  /** Deletes every key of the instance (after a logout). */
  async clear(instanceId: string): Promise<void> {
    await this.#db.deleteFrom('whatsapp_auth').where('instance_id', '=', instanceId).execute();
  }
}
