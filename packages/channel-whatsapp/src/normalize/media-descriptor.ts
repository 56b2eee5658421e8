import type { JsonValue, MediaDescriptor } from '@omni/sync-core';
import { bytesToBase64, bytesToHex, toNumberOrNull } from './json-safe.ts';

/** Message content fields that carry downloadable media, and the Baileys media type of each. */
export const MEDIA_CONTENT_TYPES = {
  imageMessage: 'image',
  videoMessage: 'video',
  ptvMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
} as const;

/** A content field name of {@link MEDIA_CONTENT_TYPES}. */
export type MediaContentType = keyof typeof MEDIA_CONTENT_TYPES;

/** The media fields common to image, video, audio, document and sticker messages. */
export interface MediaContentLike {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  mediaKeyTimestamp?: unknown;
  fileSha256?: Uint8Array | null;
  fileEncSha256?: Uint8Array | null;
  fileLength?: unknown;
  mimetype?: string | null;
  caption?: string | null;
  width?: number | null;
  height?: number | null;
  seconds?: number | null;
  ptt?: boolean | null;
  waveform?: Uint8Array | null;
  fileName?: string | null;
  title?: string | null;
  pageCount?: number | null;
  gifPlayback?: boolean | null;
  isAnimated?: boolean | null;
  viewOnce?: boolean | null;
  jpegThumbnail?: Uint8Array | null;
}

/**
 * What `MediaDescriptor.key` holds for WhatsApp: everything needed to download and decrypt the
 * file later and to ask the phone for a re-upload. Bytes are base64.
 */
export interface WhatsAppMediaKey {
  [key: string]: JsonValue;
  contentType: MediaContentType;
  mediaKey: string | null;
  directPath: string | null;
  url: string | null;
  fileSha256: string | null;
  fileEncSha256: string | null;
  mediaKeyTimestamp: number | null;
  /** Key of the message the media belongs to (for `updateMediaMessage`). */
  messageKey: { remoteJid: string | null; id: string | null; fromMe: boolean; participant: string | null };
}

/** The message key fields a media re-upload request needs. */
export interface MessageKeyLike {
  remoteJid?: string | null;
  id?: string | null;
  fromMe?: boolean | null;
  participant?: string | null;
}

/** Builds the descriptor of one media content field. */
export function mediaDescriptorOf(
  contentType: MediaContentType,
  media: MediaContentLike,
  messageKey: MessageKeyLike,
  extras: { viewOnce?: boolean } = {},
): MediaDescriptor {
  const key: WhatsAppMediaKey = {
    contentType,
    mediaKey: bytesToBase64(media.mediaKey),
    directPath: media.directPath ?? null,
    url: media.url ?? null,
    fileSha256: bytesToBase64(media.fileSha256),
    fileEncSha256: bytesToBase64(media.fileEncSha256),
    mediaKeyTimestamp: toNumberOrNull(media.mediaKeyTimestamp),
    messageKey: {
      remoteJid: messageKey.remoteJid ?? null,
      id: messageKey.id ?? null,
      fromMe: messageKey.fromMe === true,
      participant: messageKey.participant ?? null,
    },
  };
  const descriptor: MediaDescriptor = { key };
  if (media.url) descriptor.url = media.url;
  if (media.mimetype) descriptor.mimeType = media.mimetype;
  const size = toNumberOrNull(media.fileLength);
  if (size !== null) descriptor.size = size;
  if (media.width) descriptor.width = media.width;
  if (media.height) descriptor.height = media.height;
  if (typeof media.seconds === 'number') descriptor.durationSeconds = media.seconds;
  const waveform = bytesToBase64(media.waveform);
  if (waveform) descriptor.waveform = waveform;
  if (contentType === 'audioMessage') descriptor.isVoiceNote = media.ptt === true;
  const filename = media.fileName ?? (contentType === 'documentMessage' ? media.title : null);
  if (filename) descriptor.filename = filename;
  const sha256 = bytesToHex(media.fileSha256);
  if (sha256) descriptor.sha256 = sha256;
  if (media.caption) descriptor.caption = media.caption;
  const extra: Record<string, JsonValue> = {};
  if (media.gifPlayback) extra.gifPlayback = true;
  if (media.isAnimated) extra.isAnimated = true;
  if (media.pageCount) extra.pageCount = media.pageCount;
  if (contentType === 'ptvMessage') extra.videoNote = true;
  if (extras.viewOnce || media.viewOnce) extra.viewOnce = true;
  if (Object.keys(extra).length > 0) descriptor.extra = extra;
  return descriptor;
}

/** Reads the {@link WhatsAppMediaKey} back from a descriptor; `null` when it is not one. */
export function whatsAppMediaKeyOf(descriptor: MediaDescriptor): WhatsAppMediaKey | null {
  const key = descriptor.key;
  if (!key || typeof key !== 'object' || Array.isArray(key)) return null;
  const contentType = (key as Record<string, JsonValue>).contentType;
  if (typeof contentType !== 'string' || !(contentType in MEDIA_CONTENT_TYPES)) return null;
  return key as WhatsAppMediaKey;
}
