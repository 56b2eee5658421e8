import { proto } from '@whiskeysockets/baileys';
import type { PublishedMedia } from './media-server.ts';

/** The envelope of a fake message. */
export interface MessageEnvelope {
  id: string;
  /** Chat JID as the phone addresses it (`…@lid`, `…@s.whatsapp.net`, `…@g.us`). */
  chat: string;
  /** Unix seconds. */
  timestamp: number;
  fromMe?: boolean;
  /** Sender in groups. */
  participant?: string;
  /** The other form of `chat` (phone JID of a LID chat or the reverse). */
  remoteJidAlt?: string;
  /** The other form of `participant`. */
  participantAlt?: string;
  pushName?: string;
}

/** A key pointing at another message (reaction, edit and revoke targets). */
export interface TargetKey {
  id: string;
  chat: string;
  fromMe?: boolean;
  participant?: string;
}

function envelope(e: MessageEnvelope, message: proto.IMessage): proto.IWebMessageInfo {
  const key: proto.IMessageKey & { remoteJidAlt?: string; participantAlt?: string } = {
    remoteJid: e.chat,
    fromMe: e.fromMe ?? false,
    id: e.id,
  };
  if (e.participant) key.participant = e.participant;
  if (e.remoteJidAlt) key.remoteJidAlt = e.remoteJidAlt;
  if (e.participantAlt) key.participantAlt = e.participantAlt;
  const info: proto.IWebMessageInfo = { key, message, messageTimestamp: e.timestamp };
  if (e.pushName) info.pushName = e.pushName;
  return info;
}

function targetKey(t: TargetKey): proto.IMessageKey {
  const key: proto.IMessageKey = { remoteJid: t.chat, fromMe: t.fromMe ?? false, id: t.id };
  if (t.participant) key.participant = t.participant;
  return key;
}

function mediaFields(m: PublishedMedia) {
  return {
    url: m.url,
    mimetype: m.mimetype,
    mediaKey: m.mediaKey,
    fileSha256: m.fileSha256,
    fileEncSha256: m.fileEncSha256,
    fileLength: m.fileLength,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
  };
}

/** Builders of real `proto.IWebMessageInfo` objects for every message kind the plugin handles. */
export const waMessages = {
  text: (e: MessageEnvelope, text: string) => envelope(e, { conversation: text }),
  extendedText: (e: MessageEnvelope, text: string, replyTo?: TargetKey) =>
    envelope(e, {
      extendedTextMessage: {
        text,
        ...(replyTo
          ? { contextInfo: { stanzaId: replyTo.id, participant: replyTo.participant ?? replyTo.chat } }
          : {}),
      },
    }),
  image: (e: MessageEnvelope, media: PublishedMedia, caption?: string, size = { width: 640, height: 480 }) =>
    envelope(e, { imageMessage: { ...mediaFields(media), caption: caption ?? null, ...size } }),
  video: (e: MessageEnvelope, media: PublishedMedia, seconds: number) =>
    envelope(e, { videoMessage: { ...mediaFields(media), seconds, width: 320, height: 240 } }),
  audio: (e: MessageEnvelope, media: PublishedMedia, seconds: number) =>
    envelope(e, { audioMessage: { ...mediaFields(media), seconds, ptt: false } }),
  voice: (e: MessageEnvelope, media: PublishedMedia, seconds: number, waveform: Uint8Array) =>
    envelope(e, { audioMessage: { ...mediaFields(media), seconds, ptt: true, waveform } }),
  document: (e: MessageEnvelope, media: PublishedMedia, fileName: string, caption?: string) =>
    envelope(
      e,
      caption
        ? {
            documentWithCaptionMessage: {
              message: { documentMessage: { ...mediaFields(media), fileName, caption, pageCount: 2 } },
            },
          }
        : { documentMessage: { ...mediaFields(media), fileName, title: fileName, pageCount: 2 } },
    ),
  sticker: (e: MessageEnvelope, media: PublishedMedia) =>
    envelope(e, { stickerMessage: { ...mediaFields(media), isAnimated: false, width: 512, height: 512 } }),
  viewOnceImage: (e: MessageEnvelope, media: PublishedMedia, caption?: string) =>
    envelope(e, {
      viewOnceMessageV2: {
        message: { imageMessage: { ...mediaFields(media), caption: caption ?? null, viewOnce: true } },
      },
    }),
  location: (e: MessageEnvelope, lat: number, lng: number, name?: string, address?: string) =>
    envelope(e, {
      locationMessage: {
        degreesLatitude: lat,
        degreesLongitude: lng,
        name: name ?? null,
        address: address ?? null,
      },
    }),
  contact: (e: MessageEnvelope, displayName: string, phone: string) =>
    envelope(e, {
      contactMessage: {
        displayName,
        vcard: `BEGIN:VCARD\nVERSION:3.0\nFN:${displayName}\nTEL;type=CELL;waid=${phone}:+${phone}\nEND:VCARD`,
      },
    }),
  reaction: (e: MessageEnvelope, target: TargetKey, emoji: string) =>
    envelope(e, {
      reactionMessage: { key: targetKey(target), text: emoji, senderTimestampMs: e.timestamp * 1000 },
    }),
  poll: (e: MessageEnvelope, name: string, options: string[]) =>
    envelope(e, {
      pollCreationMessageV3: {
        name,
        options: options.map((optionName) => ({ optionName })),
        selectableOptionsCount: 1,
      },
    }),
  /** An edit; `wrapped` puts the protocol message inside `editedMessage` as newer clients do. */
  edit: (e: MessageEnvelope, target: TargetKey, newText: string, wrapped = false) => {
    const protocolMessage: proto.Message.IProtocolMessage = {
      key: targetKey(target),
      type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
      editedMessage: { conversation: newText },
      timestampMs: e.timestamp * 1000,
    };
    return envelope(e, wrapped ? { editedMessage: { message: { protocolMessage } } } : { protocolMessage });
  },
  revoke: (e: MessageEnvelope, target: TargetKey) =>
    envelope(e, {
      protocolMessage: { key: targetKey(target), type: proto.Message.ProtocolMessage.Type.REVOKE },
    }),
};

/** Options of {@link generateTextHistory}. */
export interface TextHistoryOptions {
  chat: string;
  count: number;
  /** Unix seconds of the newest message. */
  newest: number;
  /** Seconds between consecutive messages. */
  spacing: number;
  idPrefix?: string;
  remoteJidAlt?: string;
  /** Sender of incoming messages in a group chat. */
  participant?: string;
}

/** `count` text messages, newest first, alternating incoming and outgoing. */
export function generateTextHistory(options: TextHistoryOptions): proto.IWebMessageInfo[] {
  const out: proto.IWebMessageInfo[] = [];
  const prefix = options.idPrefix ?? 'M';
  for (let i = 0; i < options.count; i++) {
    const fromMe = i % 3 === 2;
    const e: MessageEnvelope = {
      id: `${prefix}${String(i).padStart(6, '0')}`,
      chat: options.chat,
      timestamp: options.newest - i * options.spacing,
      fromMe,
      pushName: fromMe ? undefined : 'Peer',
    } as MessageEnvelope;
    if (options.remoteJidAlt) e.remoteJidAlt = options.remoteJidAlt;
    if (options.participant && !fromMe) e.participant = options.participant;
    out.push(waMessages.text(e, `message ${i} in ${options.chat}`));
  }
  return out;
}
