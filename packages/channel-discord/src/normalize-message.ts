import {
  type ChatId,
  externalMessageId,
  externalUserId,
  type JsonValue,
  type MediaDescriptor,
  type MessageKind,
  type NormalizedMessage,
} from '@omni/sync-core';
import {
  type APIAttachment,
  type APIMessage,
  MessageFlags,
  MessageReferenceType,
  MessageType,
} from 'discord-api-types/v10';
import { snowflakeToMs } from './snowflake.ts';

/** Message types that carry user content; every other type is a system message. */
const CONTENT_TYPES = new Set<MessageType>([
  MessageType.Default,
  MessageType.Reply,
  MessageType.ChatInputCommand,
  MessageType.ContextMenuCommand,
  MessageType.ThreadStarterMessage,
]);

/** The media descriptor of one attachment; every field Discord gives is kept. */
export function attachmentToMedia(att: APIAttachment, isVoiceMessage: boolean): MediaDescriptor {
  const media: MediaDescriptor = {
    url: att.url,
    size: att.size,
    filename: att.filename,
    extra: { attachmentId: att.id, proxyUrl: att.proxy_url },
  };
  if (att.content_type) media.mimeType = att.content_type;
  if (typeof att.width === 'number') media.width = att.width;
  if (typeof att.height === 'number') media.height = att.height;
  if (typeof att.duration_secs === 'number') media.durationSeconds = att.duration_secs;
  if (typeof att.waveform === 'string') media.waveform = att.waveform;
  if (att.description) media.caption = att.description;
  if (isVoiceMessage) media.isVoiceNote = true;
  return media;
}

function kindOf(msg: APIMessage, isVoice: boolean): MessageKind {
  if (!CONTENT_TYPES.has(msg.type)) return 'system';
  if (isVoice) return 'voice';
  const first = msg.attachments[0];
  if (first) {
    const mime = first.content_type ?? '';
    if (mime.startsWith('image/')) return 'image';
    if (mime.startsWith('video/')) return 'video';
    if (mime.startsWith('audio/')) return 'audio';
    return 'document';
  }
  if ((msg.sticker_items?.length ?? 0) > 0 && !msg.content) return 'sticker';
  return 'text';
}

/**
 * Translates a Discord message: kind (voice by flag 1<<13, media by content type, stickers,
 * system types), text, reply (`message_reference` of a reply), edit time, attachments as media
 * descriptors. The payload is kept whole in `raw` (stickers and embeds live there).
 */
export function normalizeMessage(msg: APIMessage, chat: ChatId): NormalizedMessage {
  const isVoice = ((msg.flags ?? 0) & MessageFlags.IsVoiceMessage) !== 0;
  const ref = msg.message_reference;
  const isReply =
    ref?.message_id !== undefined &&
    (msg.type === MessageType.Reply ||
      (ref.type ?? MessageReferenceType.Default) === MessageReferenceType.Default) &&
    msg.type !== MessageType.ThreadStarterMessage &&
    msg.type !== MessageType.ChannelPinnedMessage;
  return {
    externalId: externalMessageId(msg.id),
    chatId: chat,
    senderId: msg.author ? externalUserId(msg.author.id) : null,
    senderName: msg.author ? (msg.author.global_name ?? msg.author.username) : null,
    timestamp: snowflakeToMs(msg.id),
    kind: kindOf(msg, isVoice),
    text: msg.content ? msg.content : null,
    replyToId: isReply && ref?.message_id ? externalMessageId(ref.message_id) : null,
    editedAt: msg.edited_timestamp ? Date.parse(msg.edited_timestamp) : null,
    media: msg.attachments.map((a) => attachmentToMedia(a, isVoice)),
    raw: msg as unknown as JsonValue,
  };
}
