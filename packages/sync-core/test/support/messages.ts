import {
  type ChatId,
  chatId,
  externalMessageId,
  externalUserId,
  type NormalizedMessage,
} from '../../src/index.ts';

/** A plain text message for tests. */
export function msg(
  chat: string,
  id: string,
  timestamp: number,
  extra: Partial<NormalizedMessage> = {},
): NormalizedMessage {
  return {
    externalId: externalMessageId(id),
    chatId: chatId(chat) as ChatId,
    senderId: externalUserId('u1'),
    senderName: 'User One',
    timestamp,
    kind: 'text',
    text: `text of ${id}`,
    media: [],
    raw: { id, chat },
    ...extra,
  };
}

/** `2026-01-01T00:00:00Z` + `minutes`, in ms. */
export const at = (minutes: number) => Date.UTC(2026, 0, 1) + minutes * 60_000;
