import { Type } from 'typebox';
import { JsonObject, NullableTimestamp, PageQuery, Timestamp, Uuid } from './common.ts';

/** A stored message. */
export const Message = Type.Object({
  id: Uuid,
  instanceId: Uuid,
  chatId: Type.String(),
  externalId: Type.String(),
  senderId: Type.Union([Type.String(), Type.Null()]),
  senderName: Type.Union([Type.String(), Type.Null()]),
  timestamp: Timestamp,
  kind: Type.String(),
  text: Type.Union([Type.String(), Type.Null()]),
  replyToId: Type.Union([Type.String(), Type.Null()]),
  hasMedia: Type.Boolean(),
  mediaMimeType: Type.Union([Type.String(), Type.Null()]),
  mediaUrl: Type.Union([Type.String(), Type.Null()]),
  mediaLocalPath: Type.Union([Type.String(), Type.Null()]),
  mediaMetadata: Type.Union([JsonObject, Type.Null()]),
  source: Type.String(),
  editedAt: NullableTimestamp,
  deletedAt: NullableTimestamp,
  createdAt: Timestamp,
});

/** Query of `GET /instances/:id/messages`. */
export const MessagesQuery = Type.Object(
  {
    chatId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
