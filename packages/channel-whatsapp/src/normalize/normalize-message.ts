import {
  chatId,
  type ExternalMessageId,
  externalMessageId,
  externalUserId,
  type MediaDescriptor,
  type MessageKind,
  type NormalizedMessage,
} from '@omni/sync-core';
import { proto, type WAMessage } from '@whiskeysockets/baileys';
import type { IdentityMap } from '../identity/identity-map.ts';
import { isGroupJid, normalizeJid } from '../identity/jid.ts';
import { toJsonSafe, toNumberOrNull } from './json-safe.ts';
import {
  MEDIA_CONTENT_TYPES,
  type MediaContentLike,
  type MediaContentType,
  mediaDescriptorOf,
} from './media-descriptor.ts';

/** Who the account is, for messages it sent itself. */
export interface SelfIdentity {
  /** Phone-number JID of the account (`creds.me.id`). */
  id: string | null;
  /** LID of the account, when known. */
  lid?: string | null;
  /** The account's push name. */
  name?: string | null;
}

/** Options of {@link normalizeMessage}. */
export interface NormalizeContext {
  identity: IdentityMap;
  self: SelfIdentity;
  /** Keep the raw payload on the message (default `true`). */
  includeRaw?: boolean;
}

type Content = proto.IMessage;
const ProtocolType = proto.Message.ProtocolMessage.Type;

const WRAPPERS = [
  'ephemeralMessage',
  'viewOnceMessage',
  'viewOnceMessageV2',
  'viewOnceMessageV2Extension',
  'documentWithCaptionMessage',
  'editedMessage',
  'associatedChildMessage',
  'groupStatusMessage',
  'groupStatusMessageV2',
] as const;
const VIEW_ONCE_WRAPPERS = new Set<string>([
  'viewOnceMessage',
  'viewOnceMessageV2',
  'viewOnceMessageV2Extension',
]);

interface Unwrapped {
  content: Content;
  viewOnce: boolean;
  edited: boolean;
}

/** Peels the future-proof wrappers (ephemeral, view-once, document-with-caption, edited…). */
export function unwrapContent(message: Content): Unwrapped {
  let content = message;
  let viewOnce = false;
  let edited = false;
  for (let depth = 0; depth < 6; depth++) {
    let inner: Content | null | undefined;
    for (const wrapper of WRAPPERS) {
      const candidate = content[wrapper] as proto.Message.IFutureProofMessage | null | undefined;
      if (candidate?.message) {
        if (VIEW_ONCE_WRAPPERS.has(wrapper)) viewOnce = true;
        if (wrapper === 'editedMessage') edited = true;
        inner = candidate.message;
        break;
      }
    }
    if (!inner) break;
    content = inner;
  }
  return { content, viewOnce, edited };
}

/** The text a content carries (text, caption, poll name…), or `null`. */
export function textOf(content: Content | null | undefined): string | null {
  if (!content) return null;
  const inner = unwrapContent(content).content;
  return (
    inner.conversation ??
    inner.extendedTextMessage?.text ??
    inner.imageMessage?.caption ??
    inner.videoMessage?.caption ??
    inner.documentMessage?.caption ??
    inner.buttonsResponseMessage?.selectedDisplayText ??
    inner.listResponseMessage?.title ??
    inner.templateButtonReplyMessage?.selectedDisplayText ??
    null
  );
}

function contextOf(content: Content): proto.IContextInfo | null {
  for (const value of Object.values(content)) {
    if (value && typeof value === 'object' && 'contextInfo' in value) {
      const ctx = (value as { contextInfo?: proto.IContextInfo | null }).contextInfo;
      if (ctx) return ctx;
    }
  }
  return null;
}

function stubText(msg: WAMessage): string {
  const type = msg.messageStubType ?? 0;
  const name = proto.WebMessageInfo.StubType[type] ?? String(type);
  const params = msg.messageStubParameters?.filter((p: string | null | undefined) => !!p) ?? [];
  return params.length > 0 ? `${name}: ${params.join(', ')}` : name;
}

interface Classified {
  kind: MessageKind;
  text: string | null;
  media: MediaDescriptor[];
  targetId?: string | null;
  editedAt?: number | null;
}

function classify(
  msg: WAMessage,
  content: Content,
  viewOnce: boolean,
  timestampMs: number,
): Classified | null {
  const key = msg.key;
  const protocol = content.protocolMessage;
  if (protocol) {
    if (protocol.type === ProtocolType.REVOKE) {
      return { kind: 'revoke', text: null, media: [], targetId: protocol.key?.id ?? null };
    }
    if (protocol.type === ProtocolType.MESSAGE_EDIT) {
      return {
        kind: 'edit',
        text: textOf(protocol.editedMessage),
        media: [],
        targetId: protocol.key?.id ?? null,
        editedAt: toNumberOrNull(protocol.timestampMs) ?? timestampMs,
      };
    }
    if (protocol.type === ProtocolType.EPHEMERAL_SETTING) {
      return { kind: 'system', text: `EPHEMERAL_SETTING: ${protocol.ephemeralExpiration ?? 0}`, media: [] };
    }
    return null;
  }
  if (content.reactionMessage) {
    const r = content.reactionMessage;
    return { kind: 'reaction', text: r.text ?? '', media: [], targetId: r.key?.id ?? null };
  }
  for (const field of Object.keys(MEDIA_CONTENT_TYPES) as MediaContentType[]) {
    const media = content[field] as MediaContentLike | null | undefined;
    if (!media) continue;
    const descriptor = mediaDescriptorOf(field, media, key, { viewOnce });
    const kind: MessageKind =
      field === 'audioMessage'
        ? media.ptt
          ? 'voice'
          : 'audio'
        : field === 'ptvMessage'
          ? 'video'
          : (MEDIA_CONTENT_TYPES[field] as MessageKind);
    return { kind, text: media.caption ?? null, media: [descriptor] };
  }
  if (content.conversation !== null && content.conversation !== undefined) {
    return { kind: 'text', text: content.conversation, media: [] };
  }
  if (content.extendedTextMessage) {
    return { kind: 'text', text: content.extendedTextMessage.text ?? null, media: [] };
  }
  const location = content.locationMessage ?? content.liveLocationMessage;
  if (location) {
    const place = [
      'name' in location ? location.name : null,
      'address' in location ? location.address : null,
      'caption' in location ? location.caption : null,
    ]
      .filter((p): p is string => !!p)
      .join(', ');
    return {
      kind: 'location',
      text: place || `${location.degreesLatitude ?? 0},${location.degreesLongitude ?? 0}`,
      media: [],
    };
  }
  if (content.contactMessage) {
    return { kind: 'contact', text: content.contactMessage.displayName ?? null, media: [] };
  }
  if (content.contactsArrayMessage) {
    const names = content.contactsArrayMessage.contacts?.map((c) => c.displayName).filter((n) => !!n) ?? [];
    return {
      kind: 'contact',
      text: content.contactsArrayMessage.displayName ?? (names.join(', ') || null),
      media: [],
    };
  }
  const poll =
    content.pollCreationMessage ??
    content.pollCreationMessageV2 ??
    content.pollCreationMessageV3 ??
    content.pollCreationMessageV5;
  if (poll) {
    const options = poll.options?.map((o) => o.optionName).filter((o): o is string => !!o) ?? [];
    return {
      kind: 'poll',
      text:
        options.length > 0
          ? `${poll.name ?? ''}\n${options.map((o) => `- ${o}`).join('\n')}`
          : (poll.name ?? null),
      media: [],
    };
  }
  if (content.pollUpdateMessage) {
    return {
      kind: 'poll',
      text: null,
      media: [],
      targetId: content.pollUpdateMessage.pollCreationMessageKey?.id ?? null,
    };
  }
  const text = textOf(content);
  if (text !== null) return { kind: 'text', text, media: [] };
  if (content.senderKeyDistributionMessage && Object.keys(content).length <= 2) return null;
  return { kind: 'unknown', text: null, media: [] };
}

/**
 * Translates one Baileys message into a {@link NormalizedMessage}, or `null` for messages that are
 * no content of the chat (key distribution, app-state and history-sync notifications).
 *
 * Chat and sender ids are canonical per the {@link IdentityMap} (phone JID when known, else LID);
 * the `…Alt` ids of the key are recorded in the map first, so one message teaches the next.
 */
export function normalizeMessage(msg: WAMessage, context: NormalizeContext): NormalizedMessage | null {
  const key = msg.key;
  if (!key?.id || !key.remoteJid) return null;
  const { identity } = context;
  const keyAlt = key as typeof key & { remoteJidAlt?: string | null; participantAlt?: string | null };
  identity.linkPair(key.remoteJid, keyAlt.remoteJidAlt);
  identity.linkPair(key.participant, keyAlt.participantAlt);
  const chat = identity.canonical(key.remoteJid);
  const timestamp = (toNumberOrNull(msg.messageTimestamp) ?? 0) * 1000;

  let classified: Classified | null;
  let edited = false;
  const unwrapped = msg.message ? unwrapContent(msg.message) : null;
  if (unwrapped) {
    edited = unwrapped.edited;
    classified = classify(msg, unwrapped.content, unwrapped.viewOnce, timestamp);
  } else if (msg.messageStubType === proto.WebMessageInfo.StubType.REVOKE) {
    // A message deleted for everyone before the history was taken: its content is gone.
    classified = { kind: 'unknown', text: null, media: [] };
  } else if (msg.messageStubType) {
    classified = { kind: 'system', text: stubText(msg), media: [] };
  } else {
    classified = null;
  }
  if (!classified) return null;

  let senderId: string | null;
  let senderName: string | null = msg.pushName ?? msg.verifiedBizName ?? null;
  if (key.fromMe) {
    senderId = context.self.id ? identity.canonical(context.self.id) : null;
    senderName = context.self.name ?? senderName;
  } else if (isGroupJid(chat) || key.participant) {
    const participant = key.participant ?? msg.participant ?? null;
    senderId = participant ? identity.canonical(participant) : null;
  } else {
    senderId = chat;
  }

  const ctx = unwrapped ? contextOf(unwrapped.content) : null;
  const normalized: NormalizedMessage = {
    externalId: externalMessageId(key.id),
    chatId: chatId(chat),
    senderId: senderId ? externalUserId(normalizeJid(senderId)) : null,
    senderName,
    timestamp,
    kind: classified.kind,
    text: classified.text,
    media: classified.media,
    raw: context.includeRaw === false ? null : toJsonSafe(msg),
  };
  if (ctx?.stanzaId) normalized.replyToId = externalMessageId(ctx.stanzaId);
  if (classified.targetId) normalized.targetId = externalMessageId(classified.targetId) as ExternalMessageId;
  if (classified.editedAt !== undefined) normalized.editedAt = classified.editedAt;
  else if (edited) normalized.editedAt = timestamp;
  if (msg.messageStubType === proto.WebMessageInfo.StubType.REVOKE) normalized.deletedAt = timestamp;
  return normalized;
}
