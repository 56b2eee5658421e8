import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Contact as ContactRow, OmniGroup } from '@omni/db';
import { sql } from 'kysely';
import type { Static } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import { Data, errorResponses, IdParams } from '../schemas/common.ts';
import {
  Contact,
  DirectoryItemParams,
  DirectoryList,
  DirectoryQuery,
  Group,
  GroupDetail,
} from '../schemas/directory.ts';
import { InstanceService } from '../services/instance-service.ts';
import { decodeCursor, keysetPage, malformedCursor } from '../services/mappers.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A contact row with Omni's field names (omni-sync's own only where Omni has none). */
function toContact(row: ContactRow) {
  return {
    platformUserId: row.external_id,
    displayName: row.name ?? row.push_name ?? row.verified_name,
    phone: row.phone_number,
    avatarUrl: row.avatar_url,
    isGroup: row.external_id.endsWith('@g.us'),
    isBusiness: row.verified_name !== null,
    platformMetadata: row.metadata,
    id: row.id,
    instanceId: row.instance_id,
    pushName: row.push_name,
    verifiedName: row.verified_name,
    lid: row.lid,
    isPresent: row.is_present,
    lastSeenSyncAt: iso(row.last_seen_sync_at),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A group row with Omni's field names (omni-sync's own only where Omni has none). */
function toGroup(row: OmniGroup) {
  const metadata = row.metadata ?? {};
  return {
    externalId: row.external_id,
    name: row.name,
    description: row.description,
    memberCount: row.member_count,
    avatarUrl:
      typeof metadata.avatarUrl === 'string'
        ? metadata.avatarUrl
        : typeof metadata.iconUrl === 'string'
          ? metadata.iconUrl
          : null,
    platformMetadata: metadata,
    id: row.id,
    instanceId: row.instance_id,
    isPresent: row.is_present,
    lastSeenSyncAt: iso(row.last_seen_sync_at),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

const like = (search: string) => `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function cursorParts(cursor: string | undefined): [string, string] | null {
  if (!cursor) return null;
  const parts = decodeCursor(cursor, ['text', 'uuid']);
  if (!parts) throw malformedCursor();
  return [parts[0] as string, parts[1] as string];
}

/** How a directory table is searched and ordered. */
const DIRECTORY = {
  contacts: {
    searched: ['name', 'push_name', 'verified_name', 'phone_number', 'external_id', 'lid'],
    sortKey: sql<string>`coalesce(name, push_name, verified_name, external_id)`,
  },
  omni_groups: {
    searched: ['name', 'external_id', 'description'],
    sortKey: sql<string>`coalesce(name, external_id)`,
  },
} as const;

/** `/instances/:id/contacts` and `/instances/:id/groups`: what contacts/groups syncs stored. */
export const directoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const instances = new InstanceService(app.deps);
  const db = () => app.deps.db.db;

  /**
   * A page of a directory table of the instance, by name then id: present rows only unless asked,
   * `search` matched case-insensitively on the table's searched columns, `totalFetched` counting
   * every match.
   */
  const listDirectory = async (
    table: keyof typeof DIRECTORY,
    instanceId: string,
    q: Static<typeof DirectoryQuery>,
  ) => {
    const { searched, sortKey } = DIRECTORY[table];
    const limit = q.limit ?? 50;
    let base = db().selectFrom(table).where('instance_id', '=', instanceId);
    if (!q.includeAbsent) base = base.where('is_present', '=', true);
    if (table === 'contacts' && q.excludeGroups) base = base.where('external_id', 'not like', '%@g.us');
    if (table === 'contacts' && q.guildId) {
      const guildId = q.guildId;
      // A Discord member carries its guild in metadata; a WhatsApp group's members are participants.
      base = base.where(({ eb, exists, or, selectFrom }) =>
        or([
          eb(sql<string>`metadata ->> 'guildId'`, '=', guildId),
          exists(
            selectFrom('group_participants as p')
              .select(sql`1`.as('one'))
              .where('p.instance_id', '=', instanceId)
              .where('p.group_external_id', '=', guildId)
              .whereRef('p.participant_id', '=', sql.ref('contacts.external_id')),
          ),
        ]),
      );
    }
    if (q.search) {
      const pattern = like(q.search);
      base = base.where((eb) => eb.or(searched.map((c) => eb(sql.ref(c), 'ilike', pattern))));
    }
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    let query = base.selectAll().select(sortKey.as('sort_key'));
    const after = cursorParts(q.cursor);
    if (after) query = query.where(sql<boolean>`(${sortKey}, id) > (${after[0]}, ${after[1]}::uuid)`);
    const rows = await query
      .orderBy(sortKey)
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const { page, hasMore, cursor } = keysetPage(rows, limit, (last) => [last.sort_key, last.id]);
    return {
      items: page.map(({ sort_key: _, ...row }) => row),
      meta: { totalFetched: Number(total.n), hasMore, cursor },
    };
  };

  app.get(
    '/instances/:id/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Contacts, by name',
        params: IdParams,
        querystring: DirectoryQuery,
        response: { 200: DirectoryList(Contact), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await instances.get(request.params.id);
      const { items, meta } = await listDirectory('contacts', request.params.id, request.query);
      return { items: items.map((row) => toContact(row as ContactRow)), meta };
    },
  );

  app.get(
    '/instances/:id/contacts/:itemId',
    {
      schema: {
        tags: ['contacts'],
        summary: 'One contact',
        params: DirectoryItemParams,
        response: { 200: Data(Contact), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const row = await db()
        .selectFrom('contacts')
        .selectAll()
        .where('instance_id', '=', request.params.id)
        .where('id', '=', request.params.itemId)
        .executeTakeFirst();
      if (!row) throw ApiError.notFound('contact', request.params.itemId);
      return { data: toContact(row) };
    },
  );

  app.get(
    '/instances/:id/groups',
    {
      schema: {
        tags: ['groups'],
        summary: 'Groups, by name',
        params: IdParams,
        querystring: DirectoryQuery,
        response: { 200: DirectoryList(Group), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await instances.get(request.params.id);
      const { items, meta } = await listDirectory('omni_groups', request.params.id, request.query);
      return { items: items.map((row) => toGroup(row as OmniGroup)), meta };
    },
  );

  app.get(
    '/instances/:id/groups/:itemId',
    {
      schema: {
        tags: ['groups'],
        summary: 'One group with its participants',
        params: DirectoryItemParams,
        response: { 200: Data(GroupDetail), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const row = await db()
        .selectFrom('omni_groups')
        .selectAll()
        .where('instance_id', '=', request.params.id)
        .where('id', '=', request.params.itemId)
        .executeTakeFirst();
      if (!row) throw ApiError.notFound('group', request.params.itemId);
      const participants = await db()
        .selectFrom('group_participants')
        .select(['participant_id', 'role', 'is_present'])
        .where('instance_id', '=', row.instance_id)
        .where('group_external_id', '=', row.external_id)
        .orderBy('participant_id')
        .execute();
      return {
        data: {
          ...toGroup(row),
          participants: participants.map((p) => ({
            id: p.participant_id,
            role: p.role,
            isPresent: p.is_present,
          })),
        },
      };
    },
  );
};
