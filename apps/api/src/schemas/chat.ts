import { Type } from 'typebox';
import { JsonObject, NullableObject, NullableText, PageQuery, Timestamp, Uuid } from './common.ts';

const NullableString = NullableText();
const NullableTimestamp = NullableText({ format: 'date-time' });

const CHAT_TYPES = [
  'dm',
  'group',
  'channel',
  'thread',
  'forum',
  'voice',
  'broadcast',
  'community',
  'announcement',
  'stage',
] as const;
/** Omni's chat types (a string enum: written directly by the serialiser). */
export const ChatType = Type.Unsafe<(typeof CHAT_TYPES)[number]>({ type: 'string', enum: [...CHAT_TYPES] });

/** A synced chat, with Omni's field names (and omni-sync's counts). */
export const Chat = Type.Object({
  id: Uuid,
  instanceId: Uuid,
  externalId: Type.String(),
  chatType: ChatType,
  channel: Type.String(),
  name: NullableString,
  description: NullableString,
  avatarUrl: NullableString,
  isGroup: Type.Boolean(),
  isArchived: Type.Boolean({ description: 'always false: omni-sync does not archive' }),
  settings: Type.Null(),
  lastMessageAt: NullableTimestamp,
  messageCount: Type.Integer({ description: 'messages stored (edits, revokes, reactions not counted)' }),
  mediaCount: Type.Integer({ description: 'messages with media stored' }),
  altExternalId: NullableString,
  parentExternalId: NullableString,
  platformMetadata: JsonObject,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** Omni's message types, as its SDK names them. */
export const MESSAGE_TYPES = [
  'text',
  'audio',
  'image',
  'video',
  'document',
  'sticker',
  'contact',
  'location',
  'poll',
  'reaction',
  'system',
] as const;
/** Omni's message types (a string enum). */
export const MessageType = Type.Unsafe<(typeof MESSAGE_TYPES)[number]>({
  type: 'string',
  enum: [...MESSAGE_TYPES],
});

/** A stored message with Omni's field names. */
export const OmniMessage = Type.Object({
  id: Uuid,
  chatId: Uuid,
  instanceId: Uuid,
  externalId: Type.String(),
  chatExternalId: Type.String(),
  source: Type.Unsafe<'sync' | 'realtime'>({ type: 'string', enum: ['sync', 'realtime'] }),
  messageType: MessageType,
  textContent: NullableString,
  platformTimestamp: Timestamp,
  isFromMe: Type.Boolean(),
  senderPlatformUserId: NullableString,
  senderDisplayName: NullableString,
  replyToExternalId: NullableString,
  hasMedia: Type.Boolean(),
  mediaMimeType: NullableString,
  mediaUrl: NullableText({
    description: "omni-sync's media route for the stored file (`?api_key=` works); null until it is stored",
  }),
  editedAt: NullableTimestamp,
  deletedAt: NullableTimestamp,
  metadata: Type.Object({
    kind: Type.String({ description: "omni-sync's finer kind (voice, edit…)" }),
    platformMediaUrl: NullableString,
    media: NullableObject(),
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** A member of a chat. */
export const ChatParticipant = Type.Object({
  id: Type.String({ description: '`<chat id>:<platformUserId>`' }),
  chatId: Uuid,
  platformUserId: Type.String(),
  displayName: NullableString,
  avatarUrl: NullableString,
  role: NullableString,
  isPresent: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const CommaList = (description: string) => Type.Optional(Type.String({ maxLength: 500, description }));
const Flag = Type.Optional(
  Type.Union([Type.Boolean(), Type.String({ maxLength: 10 })], { description: 'accepted, ignored' }),
);

/** Query of `GET /chats` (Omni's filters; those omni-sync has nothing for are accepted and ignored). */
export const ChatsQuery = Type.Object(
  {
    instanceId: Type.Optional(Uuid),
    channel: CommaList('channels, comma-separated'),
    chatType: CommaList('chat types, comma-separated'),
    excludeChatTypes: CommaList('chat types to leave out, comma-separated'),
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'matches name and ids' })),
    sort: Type.Optional(
      Type.Union([Type.Literal('activity'), Type.Literal('unread'), Type.Literal('name')], {
        description: 'activity (default; unread sorts like activity): newest message first; name: A→Z',
      }),
    ),
    includeArchived: Flag,
    unreadOnly: Flag,
    pendingOnly: Flag,
    attentionOnly: Flag,
    includeHidden: Flag,
    label: Type.Optional(Type.String({ maxLength: 200, description: 'accepted, ignored' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

/** Query of `GET /chats/:id/messages`. */
export const ChatMessagesQuery = Type.Object(
  {
    before: Type.Optional(Type.String({ format: 'date-time', description: 'only messages sent before' })),
    after: Type.Optional(Type.String({ format: 'date-time', description: 'only messages sent after' })),
    mediaOnly: Type.Optional(Type.Boolean({ description: 'only messages with media' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

/** `:id` of a chat: its uuid, or its platform id (JID, channel id). */
export const ChatParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }) });
