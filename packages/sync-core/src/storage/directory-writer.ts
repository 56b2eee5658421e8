import type { Database } from '@omni/db';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { ChatInfo, NormalizedContact, NormalizedGroup } from '../contract/channel-plugin.ts';
import { cleanJson, cleanText } from './sanitize.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Counts of an upsert: rows created and rows that existed. */
export interface UpsertCounts {
  created: number;
  updated: number;
}

/** A chat row to upsert: a `ChatInfo` or just an id seen on a message, with its newest message time. */
export interface ChatUpsert {
  chat: Pick<ChatInfo, 'id'> & Partial<ChatInfo>;
  /** Newest message time seen for the chat, UTC ms. */
  lastMessageAt?: number | null;
}

function lastBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const map = new Map<string, T>();
  for (const item of items) map.set(key(item), item);
  return [...map.values()];
}

/** Counts of an upsert from the `created` flag its statement returns per row. */
export function upsertCountsOf(rows: readonly { created: boolean }[]): UpsertCounts {
  const created = rows.filter((r) => r.created).length;
  return { created, updated: rows.length - created };
}

/**
 * Bulk upserts of the directory tables (`chats`, `contacts`, `omni_groups`,
 * `group_participants`): one statement per table per call, idempotent, keeping known values when
 * a newer source leaves a field empty. Rows not seen by a full refresh are marked `is_present=false`.
 */
export class DirectoryWriter {
  /** Upserts chats; metadata is merged, `last_message_at` only moves forward. */
  async upsertChats(db: Db, instanceId: string, items: readonly ChatUpsert[]): Promise<UpsertCounts> {
    const statement = this.chatsUpsert(instanceId, items);
    if (!statement) return { created: 0, updated: 0 };
    return upsertCountsOf((await statement.execute(db)).rows);
  }

  /**
   * {@link upsertChats}' statement, unsent (e.g. to run as a CTE of a larger statement): it returns
   * `created` per row. `null` when there is nothing to upsert.
   */
  chatsUpsert(instanceId: string, items: readonly ChatUpsert[]): RawBuilder<{ created: boolean }> | null {
    const rows = lastBy(items, (i) => i.chat.id);
    if (rows.length === 0) return null;
    return sql<{ created: boolean }>`
      insert into chats (instance_id, external_id, alt_external_id, name, kind, parent_external_id, metadata, last_message_at)
      select ${instanceId}::uuid, u.ext, u.alt, u.name, u.kind, u.parent, u.meta, to_timestamp(u.last_ms / 1000)
      from unnest(
        ${rows.map((r) => cleanText(r.chat.id))}::text[], ${rows.map((r) => cleanText(r.chat.altId))}::text[],
        ${rows.map((r) => cleanText(r.chat.name))}::text[], ${rows.map((r) => cleanText(r.chat.kind))}::text[],
        ${rows.map((r) => cleanText(r.chat.parentId))}::text[],
        ${rows.map((r) => cleanJson(r.chat.metadata ?? {}))}::jsonb[],
        ${rows.map((r) => r.lastMessageAt ?? null)}::float8[]
      ) as u(ext, alt, name, kind, parent, meta, last_ms)
      on conflict (instance_id, external_id) do update set
        alt_external_id = coalesce(excluded.alt_external_id, chats.alt_external_id),
        name = coalesce(excluded.name, chats.name),
        kind = coalesce(excluded.kind, chats.kind),
        parent_external_id = coalesce(excluded.parent_external_id, chats.parent_external_id),
        metadata = chats.metadata || excluded.metadata,
        last_message_at = greatest(chats.last_message_at, excluded.last_message_at),
        updated_at = now()
      returning (xmax = 0) as created`;
  }

  /** Upserts contacts seen at `seenAt`; they are present again. */
  async upsertContacts(
    db: Db,
    instanceId: string,
    contacts: readonly NormalizedContact[],
    seenAt: Date,
  ): Promise<UpsertCounts> {
    const statement = this.contactsUpsert(instanceId, contacts, seenAt);
    if (!statement) return { created: 0, updated: 0 };
    return upsertCountsOf((await statement.execute(db)).rows);
  }

  /**
   * {@link upsertContacts}' statement, unsent (e.g. to run as a CTE of a larger statement): it
   * returns `created` per row. `null` when there is nothing to upsert.
   */
  contactsUpsert(
    instanceId: string,
    contacts: readonly NormalizedContact[],
    seenAt: Date,
  ): RawBuilder<{ created: boolean }> | null {
    const rows = lastBy(contacts, (c) => c.externalId);
    if (rows.length === 0) return null;
    return sql<{ created: boolean }>`
      insert into contacts (instance_id, external_id, name, push_name, verified_name, phone_number, lid,
        avatar_url, metadata, is_present, last_seen_sync_at)
      select ${instanceId}::uuid, u.ext, u.name, u.push_name, u.verified_name, u.phone, u.lid, u.avatar, u.meta,
        true, ${seenAt}::timestamptz
      from unnest(
        ${rows.map((c) => cleanText(c.externalId))}::text[], ${rows.map((c) => cleanText(c.name))}::text[],
        ${rows.map((c) => cleanText(c.pushName))}::text[], ${rows.map((c) => cleanText(c.verifiedName))}::text[],
        ${rows.map((c) => cleanText(c.phoneNumber))}::text[], ${rows.map((c) => cleanText(c.lid))}::text[],
        ${rows.map((c) => cleanText(c.avatarUrl))}::text[], ${rows.map((c) => cleanJson(c.metadata ?? {}))}::jsonb[]
      ) as u(ext, name, push_name, verified_name, phone, lid, avatar, meta)
      on conflict (instance_id, external_id) do update set
        name = coalesce(excluded.name, contacts.name),
        push_name = coalesce(excluded.push_name, contacts.push_name),
        verified_name = coalesce(excluded.verified_name, contacts.verified_name),
        phone_number = coalesce(excluded.phone_number, contacts.phone_number),
        lid = coalesce(excluded.lid, contacts.lid),
        avatar_url = coalesce(excluded.avatar_url, contacts.avatar_url),
        metadata = contacts.metadata || excluded.metadata,
        is_present = true,
        last_seen_sync_at = greatest(contacts.last_seen_sync_at, excluded.last_seen_sync_at),
        updated_at = now()
      returning (xmax = 0) as created`;
  }

  /**
   * Upserts groups seen at `seenAt`, and for groups that list participants, their participants;
   * participants of those groups not in the list are marked absent.
   */
  async upsertGroups(
    db: Db,
    instanceId: string,
    groups: readonly NormalizedGroup[],
    seenAt: Date,
  ): Promise<UpsertCounts & { participants: number }> {
    const rows = lastBy(groups, (g) => g.externalId);
    if (rows.length === 0) return { created: 0, updated: 0, participants: 0 };
    const result = await sql<{ created: boolean }>`
      insert into omni_groups (instance_id, external_id, name, description, member_count, metadata, is_present,
        last_seen_sync_at)
      select ${instanceId}::uuid, u.ext, left(u.name, 255), u.description, u.members, u.meta, true, ${seenAt}::timestamptz
      from unnest(
        ${rows.map((g) => cleanText(g.externalId))}::text[], ${rows.map((g) => cleanText(g.name))}::text[],
        ${rows.map((g) => cleanText(g.description))}::text[], ${rows.map((g) => g.memberCount)}::int[],
        ${rows.map((g) => cleanJson(g.metadata ?? {}))}::jsonb[]
      ) as u(ext, name, description, members, meta)
      on conflict (instance_id, external_id) do update set
        name = coalesce(excluded.name, omni_groups.name),
        description = coalesce(excluded.description, omni_groups.description),
        member_count = coalesce(excluded.member_count, omni_groups.member_count),
        metadata = coalesce(omni_groups.metadata, '{}'::jsonb) || excluded.metadata,
        is_present = true,
        last_seen_sync_at = greatest(omni_groups.last_seen_sync_at, excluded.last_seen_sync_at),
        updated_at = now()
      returning (xmax = 0) as created`.execute(db);
    const listed = rows.filter((g) => g.participants !== undefined);
    const members = lastBy(
      listed.flatMap((g) =>
        (g.participants ?? []).map((p) => ({ group: g.externalId, id: p.id, role: p.role })),
      ),
      (p) => `${p.group}\u0000${p.id}`,
    );
    if (members.length > 0) {
      await sql`
        insert into group_participants (instance_id, group_external_id, participant_id, role, is_present, updated_at)
        select ${instanceId}::uuid, u.grp, u.pid, coalesce(u.role, 'member'), true, ${seenAt}::timestamptz
        from unnest(${members.map((m) => cleanText(m.group))}::text[], ${members.map((m) => cleanText(m.id))}::text[],
          ${members.map((m) => cleanText(m.role))}::text[]) as u(grp, pid, role)
        on conflict (instance_id, group_external_id, participant_id) do update set
          role = excluded.role, is_present = true, updated_at = excluded.updated_at`.execute(db);
    }
    if (listed.length > 0) {
      await db
        .updateTable('group_participants')
        .set({ is_present: false, updated_at: seenAt })
        .where('instance_id', '=', instanceId)
        .where(
          'group_external_id',
          'in',
          listed.map((g) => g.externalId),
        )
        .where('is_present', '=', true)
        .where('updated_at', '<', seenAt)
        .execute();
    }
    return { ...upsertCountsOf(result.rows), participants: members.length };
  }

  /** Marks contacts not seen since `refreshStartedAt` absent; returns how many changed. */
  async markAbsentContacts(db: Db, instanceId: string, refreshStartedAt: Date): Promise<number> {
    const r = await db
      .updateTable('contacts')
      .set({ is_present: false, updated_at: sql`now()` })
      .where('instance_id', '=', instanceId)
      .where('is_present', '=', true)
      .where((eb) =>
        eb.or([eb('last_seen_sync_at', 'is', null), eb('last_seen_sync_at', '<', refreshStartedAt)]),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Marks groups (and their participants) not seen since `refreshStartedAt` absent. */
  async markAbsentGroups(db: Db, instanceId: string, refreshStartedAt: Date): Promise<number> {
    const gone = await db
      .updateTable('omni_groups')
      .set({ is_present: false, updated_at: sql`now()` })
      .where('instance_id', '=', instanceId)
      .where('is_present', '=', true)
      .where((eb) =>
        eb.or([eb('last_seen_sync_at', 'is', null), eb('last_seen_sync_at', '<', refreshStartedAt)]),
      )
      .returning('external_id')
      .execute();
    if (gone.length > 0) {
      await db
        .updateTable('group_participants')
        .set({ is_present: false, updated_at: sql`now()` })
        .where('instance_id', '=', instanceId)
        .where(
          'group_external_id',
          'in',
          gone.map((g) => g.external_id),
        )
        .where('is_present', '=', true)
        .execute();
    }
    return gone.length;
  }
}
