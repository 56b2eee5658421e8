import type { ChatId, ExternalMessageId, ExternalUserId, JsonValue } from './ids.ts';

/** What a message is. `edit`, `revoke` and `reaction` act on another message (see `targetId`). */
export type MessageKind =
  | 'text'
  | 'image'
  | 'audio'
  | 'voice'
  | 'video'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contact'
  | 'poll'
  | 'reaction'
  | 'edit'
  | 'revoke'
  | 'system'
  | 'unknown';

/**
 * One piece of media attached to a message, as the platform describes it.
 * Every field the platform gives is kept; absent ones are `undefined`.
 */
export interface MediaDescriptor {
  /** Where the bytes can be fetched (Discord CDN URL; WhatsApp encrypted-media URL). */
  url?: string;
  /** Platform-specific handle needed to download/decrypt (WhatsApp media key etc.), JSON-safe. */
  key?: JsonValue;
  /** Declared MIME type (the stored file's type is sniffed again from its bytes). */
  mimeType?: string;
  /** Declared size in bytes. */
  size?: number;
  /** Pixels. */
  width?: number;
  /** Pixels. */
  height?: number;
  /** Seconds (fractional allowed). */
  durationSeconds?: number;
  /** Voice-note waveform, base64 as the platform sends it. */
  waveform?: string;
  /** True for push-to-talk voice notes / Discord voice messages. */
  isVoiceNote?: boolean;
  /** Original file name. */
  filename?: string;
  /** The bytes themselves, base64, when the payload carries them; cleared once stored. */
  base64?: string;
  /** Expected SHA-256 of the (decrypted) content, hex, when the platform states it. */
  sha256?: string;
  /** Caption attached to the media. */
  caption?: string;
  /** Anything else worth keeping (platform attachment id, thumbnails…). */
  extra?: Record<string, JsonValue>;
}

/**
 * A message translated from a platform into omni-sync's shape. Plugins produce these; they never
 * write to the database. All timestamps are UTC milliseconds since the epoch.
 */
export interface NormalizedMessage {
  /** Platform id of the message, unique within `chatId`. The dedupe key with the instance and chat. */
  externalId: ExternalMessageId;
  /** Platform id of the conversation the message belongs to. */
  chatId: ChatId;
  /** Platform id of the author; `null` for system messages without one. */
  senderId: ExternalUserId | null;
  /** Display name of the author at the time of the message, when known. */
  senderName: string | null;
  /** When the message was sent, UTC ms. */
  timestamp: number;
  kind: MessageKind;
  /** Text content or caption; `null` when the message has none. */
  text: string | null;
  /** The message this one replies to. */
  replyToId?: ExternalMessageId | null;
  /** For `edit`, `revoke` and `reaction`: the message acted upon. */
  targetId?: ExternalMessageId | null;
  /** When the message itself was last edited, UTC ms (Discord `edited_timestamp`). */
  editedAt?: number | null;
  /** When the message was deleted, UTC ms, if the platform still reports it. */
  deletedAt?: number | null;
  /** Attached media, in platform order. The first one fills the message row's media columns. */
  media: MediaDescriptor[];
  /** The platform payload as received, JSON-safe (Longs and buffers converted). */
  raw: JsonValue;
}
