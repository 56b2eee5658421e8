import {
  type ChatId,
  externalMessageId,
  externalUserId,
  type JsonValue,
  type MediaDescriptor,
  type MessageKind,
  type NormalizedMessage,
} from '@omni/sync-core';
import { msFromTs } from './slack-ts.ts';

/** The part of a Slack file object the plugin reads. */
export interface SlackFile {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  filetype?: string;
  size?: number;
  mode?: string;
  subtype?: string;
  url_private?: string;
  url_private_download?: string;
  original_w?: number;
  original_h?: number;
  duration_ms?: number;
}

/** The part of a Slack message object the plugin reads. */
export interface SlackMessage {
  type?: string;
  subtype?: string;
  ts: string;
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  username?: string;
  text?: string;
  reply_count?: number;
  hidden?: boolean;
  edited?: { user?: string; ts?: string };
  files?: SlackFile[];
  user_profile?: { real_name?: string; display_name?: string };
  bot_profile?: { name?: string };
  /** `message_changed`: the message as it is now. */
  message?: SlackMessage;
  /** `message_deleted`: the ts of the deleted message. */
  deleted_ts?: string;
}

/** Subtypes that are notices about the conversation, not something a person wrote. */
const SYSTEM_SUBTYPES = new Set([
  'channel_join',
  'channel_leave',
  'channel_topic',
  'channel_purpose',
  'channel_name',
  'channel_archive',
  'channel_unarchive',
  'channel_convert_to_private',
  'channel_convert_to_public',
  'group_join',
  'group_leave',
  'group_topic',
  'group_purpose',
  'group_name',
  'group_archive',
  'group_unarchive',
  'pinned_item',
  'unpinned_item',
  'bot_add',
  'bot_remove',
  'reminder_add',
  'huddle_thread',
  'sh_room_created',
]);
/** Subtypes that are ordinary messages in another form. */
const TEXT_SUBTYPES = new Set([
  'bot_message',
  'me_message',
  'thread_broadcast',
  'file_share',
  'slackbot_response',
]);

/** One Slack file as a media descriptor (the private download URL; bytes need the token). */
export function fileToMedia(file: SlackFile): MediaDescriptor | null {
  const url = file.url_private_download ?? file.url_private;
  if (!url || file.mode === 'tombstone' || file.mode === 'hidden_by_limit') return null;
  const out: MediaDescriptor = {
    url,
    mimeType: file.mimetype || 'application/octet-stream',
    extra: { fileId: file.id ?? null, filetype: file.filetype ?? null, title: file.title ?? null },
  };
  if (typeof file.size === 'number' && file.size >= 0) out.size = file.size;
  if (file.name) out.filename = file.name;
  if (typeof file.original_w === 'number') out.width = file.original_w;
  if (typeof file.original_h === 'number') out.height = file.original_h;
  if (typeof file.duration_ms === 'number' && file.duration_ms > 0)
    out.durationSeconds = file.duration_ms / 1000;
  if (file.subtype === 'slack_audio') out.isVoiceNote = true;
  return out;
}

function mediaKind(media: MediaDescriptor): MessageKind {
  if (media.isVoiceNote && (media.durationSeconds ?? 0) > 0) return 'voice';
  const type = media.mimeType ?? '';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'document';
}

/**
 * A Slack message as a {@link NormalizedMessage}: `ts` is the id (unique in its conversation),
 * thread replies reply to their root (`thread_ts`), `edited.ts` is the edit time, files are media.
 * History entries that act on another message become `edit` (`message_changed`, the new text) and
 * `revoke` (`message_deleted`); a `tombstone` (a deleted thread root Slack keeps for its replies)
 * is the message itself marked deleted, at `observedAt` (Slack does not say when).
 */
export function normalizeMessage(m: SlackMessage, chat: ChatId, observedAt: number): NormalizedMessage {
  const timestamp = msFromTs(m.ts);
  const base = {
    externalId: externalMessageId(m.ts),
    chatId: chat,
    senderId: m.user ? externalUserId(m.user) : m.bot_id ? externalUserId(m.bot_id) : null,
    senderName: m.user_profile?.real_name || m.username || m.bot_profile?.name || null,
    timestamp,
    raw: m as unknown as JsonValue,
  };
  const replyToId = m.thread_ts && m.thread_ts !== m.ts ? externalMessageId(m.thread_ts) : null;
  if (m.subtype === 'message_changed') {
    const now = m.message;
    return {
      ...base,
      senderId: now?.user ? externalUserId(now.user) : base.senderId,
      kind: 'edit',
      text: now?.text ?? null,
      targetId: now?.ts ? externalMessageId(now.ts) : null,
      media: [],
    };
  }
  if (m.subtype === 'message_deleted') {
    return {
      ...base,
      kind: 'revoke',
      text: null,
      targetId: m.deleted_ts ? externalMessageId(m.deleted_ts) : null,
      media: [],
    };
  }
  if (m.subtype === 'tombstone') {
    return { ...base, senderId: null, kind: 'text', text: null, replyToId, deletedAt: observedAt, media: [] };
  }
  const media = (m.files ?? []).map(fileToMedia).filter((d): d is MediaDescriptor => d !== null);
  const kind: MessageKind =
    m.subtype && SYSTEM_SUBTYPES.has(m.subtype)
      ? 'system'
      : media[0]
        ? mediaKind(media[0])
        : !m.subtype || TEXT_SUBTYPES.has(m.subtype)
          ? 'text'
          : 'unknown';
  const editedAt = m.edited?.ts ? msFromTs(m.edited.ts) : null;
  return {
    ...base,
    kind,
    text: m.text ? m.text : null,
    replyToId,
    ...(editedAt !== null && Number.isFinite(editedAt) ? { editedAt } : {}),
    media,
  };
}
