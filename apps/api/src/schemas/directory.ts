import { Type } from 'typebox';
import { JsonObject, NullableTimestamp, PageQuery, Timestamp, Uuid } from './common.ts';

/** A contact of an instance, with Omni's field names (and omni-sync's where Omni has none). */
export const Contact = Type.Object({
  platformUserId: Type.String({ description: 'platform id (WhatsApp JID, Discord user id)' }),
  displayName: Type.Union([Type.String(), Type.Null()], {
    description: 'saved name, else push name, else verified name',
  }),
  phone: Type.Union([Type.String(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  isGroup: Type.Boolean(),
  isBusiness: Type.Boolean({ description: 'the platform verified a business name' }),
  platformMetadata: JsonObject,
  id: Uuid,
  instanceId: Uuid,
  pushName: Type.Union([Type.String(), Type.Null()]),
  verifiedName: Type.Union([Type.String(), Type.Null()]),
  lid: Type.Union([Type.String(), Type.Null()]),
  isPresent: Type.Boolean({ description: 'false once a refresh no longer sees it' }),
  lastSeenSyncAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** A member of a group. */
export const Participant = Type.Object({
  id: Type.String(),
  role: Type.String(),
  isPresent: Type.Boolean(),
});

/** A group (WhatsApp group, Discord guild), with Omni's field names (and omni-sync's where Omni has none). */
export const Group = Type.Object({
  externalId: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  memberCount: Type.Union([Type.Integer(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  platformMetadata: JsonObject,
  id: Uuid,
  instanceId: Uuid,
  isPresent: Type.Boolean(),
  lastSeenSyncAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** A group with its participants. */
export const GroupDetail = Type.Intersect([Group, Type.Object({ participants: Type.Array(Participant) })]);

/** Query of the directory lists. */
export const DirectoryQuery = Type.Object(
  {
    search: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'matches names, ids, phone' }),
    ),
    includeAbsent: Type.Optional(Type.Boolean({ default: false })),
    guildId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'contacts: only members of this guild/group',
      }),
    ),
    excludeGroups: Type.Optional(Type.Boolean({ description: 'contacts: leave out group JIDs' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
    cursor: PageQuery.cursor,
  },
  { additionalProperties: false },
);

/** `{ items, meta: { totalFetched, hasMore, cursor } }`. */
export const DirectoryList = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    meta: Type.Object({
      totalFetched: Type.Integer({ description: 'rows matching the filter' }),
      hasMore: Type.Boolean(),
      cursor: Type.Union([Type.String(), Type.Null()]),
    }),
  });

/** `:id/:itemId` path parameters. */
export const DirectoryItemParams = Type.Object({ id: Uuid, itemId: Uuid });
