import type { NormalizedContact, NormalizedMessage } from '@omni/sync-core';
import { type BaileysEventMap, proto, type WAMessage } from '@whiskeysockets/baileys';
import type { IdentityMap } from '../identity/identity-map.ts';
import { isLidJid, normalizeJid } from '../identity/jid.ts';
import { mergeContact, normalizeContact } from '../normalize/normalize-contact.ts';
import { normalizeMessage, type SelfIdentity } from '../normalize/normalize-message.ts';
import type { ChatRegistry } from './chat-registry.ts';

/** Baileys' `messaging-history.set` payload. */
export type HistorySetEvent = BaileysEventMap['messaging-history.set'];

/** A history chunk after normalization. */
export interface AbsorbedHistory {
  syncType: string;
  /** Normalized messages with the Baileys message each came from. */
  messages: { wa: WAMessage; normalized: NormalizedMessage }[];
  /** Canonical ids of the chats the chunk touched. */
  chatIds: string[];
  contacts: NormalizedContact[];
  progress: number | null;
  isLatest: boolean | undefined;
}

/** The per-session state a chunk updates. */
export interface AbsorbTarget {
  identity: IdentityMap;
  chats: ChatRegistry;
  contacts: Map<string, NormalizedContact>;
  self: SelfIdentity;
  includeRaw: boolean;
}

/** Name of a history sync type (`INITIAL_BOOTSTRAP`, `ON_DEMAND`…). */
export function syncTypeName(type: proto.HistorySync.HistorySyncType | null | undefined): string {
  if (type === null || type === undefined) return 'UNKNOWN';
  return proto.HistorySync.HistorySyncType[type] ?? String(type);
}

/**
 * Learns every LID ↔ phone pair a chunk states: `lidPnMappings`, conversations' `pnJid`/`lidJid`
 * (kept even when Baileys' event buffer merged chunks and dropped the mappings), contacts, and the
 * `…Alt` ids of message keys. Idempotent.
 */
export function learnIdentities(event: HistorySetEvent, identity: IdentityMap): void {
  for (const pair of event.lidPnMappings ?? []) identity.link(pair.lid, pair.pn);
  for (const chat of event.chats ?? []) {
    identity.linkPair(chat.id, chat.pnJid);
    identity.linkPair(chat.id, chat.lidJid);
  }
  for (const contact of event.contacts ?? []) identity.link(contact.lid, contact.phoneNumber);
  for (const wa of event.messages) {
    const key = wa.key as WAMessage['key'] & { remoteJidAlt?: string; participantAlt?: string };
    identity.linkPair(key.remoteJid, key.remoteJidAlt);
    identity.linkPair(key.participant, key.participantAlt);
  }
}

/** LIDs a chunk mentions (chats, message chats and senders) whose phone JID is not known yet. */
export function unknownLids(event: HistorySetEvent, identity: IdentityMap): string[] {
  const out = new Set<string>();
  const consider = (jid: string | null | undefined) => {
    if (isLidJid(jid) && !identity.pnOf(jid)) out.add(normalizeJid(jid));
  };
  for (const chat of event.chats ?? []) consider(chat.id);
  for (const wa of event.messages) {
    consider(wa.key.remoteJid);
    consider(wa.key.participant ?? wa.participant);
  }
  return [...out];
}

/**
 * Takes in one history chunk: learns its LID ↔ phone pairs first (so every id in it is keyed the
 * same way), records chats and contacts, and normalizes its messages.
 */
export function absorbHistory(event: HistorySetEvent, target: AbsorbTarget): AbsorbedHistory {
  const { identity, chats } = target;
  const touchedContacts = new Map<string, NormalizedContact>();
  learnIdentities(event, identity);
  chats.rekey();
  const chatIds = new Set<string>();
  for (const chat of event.chats ?? []) {
    if (!chat.id) continue;
    chatIds.add(chats.upsert(chat.id, chat.name ?? chat.displayName ?? null, chat.unreadCount ?? null));
  }
  for (const contact of event.contacts ?? []) {
    const normalized = normalizeContact(contact, identity);
    if (!normalized) continue;
    const merged = mergeContact(target.contacts.get(normalized.externalId), normalized);
    target.contacts.set(normalized.externalId, merged);
    touchedContacts.set(normalized.externalId, merged);
  }
  for (const pair of event.lidPnMappings ?? []) {
    const normalized = normalizeContact({ id: pair.pn, lid: pair.lid, phoneNumber: pair.pn }, identity);
    if (!normalized || touchedContacts.has(normalized.externalId)) continue;
    const merged = mergeContact(target.contacts.get(normalized.externalId), normalized);
    target.contacts.set(normalized.externalId, merged);
    touchedContacts.set(normalized.externalId, merged);
  }
  const messages: AbsorbedHistory['messages'] = [];
  const context = { identity, self: target.self, includeRaw: target.includeRaw };
  for (const wa of event.messages) {
    const normalized = normalizeMessage(wa, context);
    if (!normalized) continue;
    chats.noteMessage(wa, normalized);
    chatIds.add(normalized.chatId);
    messages.push({ wa, normalized });
  }
  return {
    syncType: syncTypeName(event.syncType),
    messages,
    chatIds: [...chatIds],
    contacts: [...touchedContacts.values()],
    progress: event.progress ?? null,
    isLatest: event.isLatest,
  };
}
