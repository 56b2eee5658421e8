import type { Database } from '@omni/db';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { LidMapping } from '../contract/channel-plugin.ts';
import { type UpsertCounts, upsertCountsOf } from './directory-writer.ts';
import { cleanText } from './sanitize.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * WhatsApp LID ↔ phone-number pairs of each instance in `lid_mappings` (one phone number per
 * LID). Writes are one set-based upsert per call: a pair already stored is left alone, a LID whose
 * phone number changed gets the new one; pairs repeated in one call count once (the last wins).
 *
 * @example
 * ```ts
 * const store = new LidMappingStore(db);
 * await store.upsert(instanceId, [{ lid: '222000@lid', pn: '15550002222@s.whatsapp.net' }]);
 * const known = await store.list(instanceId);
 * ```
 */
export class LidMappingStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Stores pairs; `created` counts new LIDs, `updated` LIDs whose phone number changed. */
  upsert(instanceId: string, mappings: readonly LidMapping[]): Promise<UpsertCounts> {
    return this.upsertIn(this.#db, instanceId, mappings);
  }

  /** {@link upsert} inside the caller's transaction. */
  async upsertIn(db: Db, instanceId: string, mappings: readonly LidMapping[]): Promise<UpsertCounts> {
    const statement = lidMappingsUpsert(instanceId, mappings);
    if (!statement) return { created: 0, updated: 0 };
    return upsertCountsOf((await statement.execute(db)).rows);
  }

  /** Every pair stored for an instance, by LID. */
  async list(instanceId: string): Promise<LidMapping[]> {
    return this.#db
      .selectFrom('lid_mappings')
      .select(['lid', 'pn'])
      .where('instance_id', '=', instanceId)
      .orderBy('lid')
      .execute();
  }
}

/**
 * The upsert of {@link LidMappingStore.upsert}, unsent (e.g. to run as a CTE of a larger
 * statement): it returns `created` per row written (a pair already stored returns no row). `null`
 * when no pair is complete.
 */
export function lidMappingsUpsert(
  instanceId: string,
  mappings: readonly LidMapping[],
): RawBuilder<{ created: boolean }> | null {
  const byLid = new Map<string, string>();
  for (const { lid, pn } of mappings) {
    const l = cleanText(lid);
    const p = cleanText(pn);
    if (l && p) byLid.set(l, p);
  }
  if (byLid.size === 0) return null;
  return sql<{ created: boolean }>`
      insert into lid_mappings (instance_id, lid, pn)
      select ${instanceId}::uuid, u.lid, u.pn
      from unnest(${[...byLid.keys()]}::text[], ${[...byLid.values()]}::text[]) as u(lid, pn)
      on conflict (instance_id, lid) do update set pn = excluded.pn, updated_at = now()
        where lid_mappings.pn is distinct from excluded.pn
      returning (xmax = 0) as created`;
}
