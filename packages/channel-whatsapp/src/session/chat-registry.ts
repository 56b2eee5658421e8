import { type ChatInfo, chatId, type JsonValue, type NormalizedMessage } from '@omni/sync-core';
import type { WAMessage } from '@whiskeysockets/baileys';
import type { HistoryCursor } from '../history/history-cursor.ts';
import type { IdentityMap } from '../identity/identity-map.ts';
import { chatKindOf, normalizeJid } from '../identity/jid.ts';

interface ChatEntry {
  id: string;
  /** Every JID the chat was seen under. */
  jids: Set<string>;
  name: string | null;
  oldest: HistoryCursor | null;
  newestMs: number | null;
  unreadCount: number | null;
}

/**
 * The chats of one session, keyed canonically (phone JID when known, else LID) so a chat seen
 * under its `@lid` and its phone id is one chat. Entries learnt under a LID are merged into the
 * phone entry when the pair becomes known ({@link rekey}).
 */
export class ChatRegistry {
  readonly #identity: IdentityMap;
  readonly #chats = new Map<string, ChatEntry>();

  constructor(identity: IdentityMap) {
    this.#identity = identity;
  }

  get size(): number {
    return this.#chats.size;
  }

  /** Records a chat under any of its JIDs; returns its canonical id. */
  upsert(jid: string, name?: string | null, unreadCount?: number | null): string {
    const entry = this.#entry(jid);
    if (name) entry.name = name;
    if (typeof unreadCount === 'number') entry.unreadCount = unreadCount;
    return entry.id;
  }

  /** Tracks the oldest and newest message of a chat (the fallback paging anchor). */
  noteMessage(message: WAMessage, normalized: NormalizedMessage): void {
    const key = message.key;
    if (!key.remoteJid || !key.id || normalized.kind === 'revoke' || normalized.kind === 'edit') return;
    const entry = this.#entry(key.remoteJid);
    if (!entry.oldest || normalized.timestamp < entry.oldest.timestampMs) {
      entry.oldest = {
        id: key.id,
        remoteJid: key.remoteJid,
        fromMe: key.fromMe === true,
        participant: key.participant ?? null,
        timestampMs: normalized.timestamp,
      };
    }
    if (entry.newestMs === null || normalized.timestamp > entry.newestMs)
      entry.newestMs = normalized.timestamp;
  }

  /** The oldest message seen for a chat in this process, as a paging cursor. */
  oldestOf(id: string): HistoryCursor | null {
    return this.#chats.get(this.#identity.canonical(id))?.oldest ?? null;
  }

  /** All JIDs a chat was seen under. */
  jidsOf(id: string): string[] {
    return [...(this.#chats.get(this.#identity.canonical(id))?.jids ?? [])];
  }

  /** Re-keys entries after new LID ↔ phone pairs were learnt; returns how many were merged. */
  rekey(): number {
    let merged = 0;
    for (const [key, entry] of [...this.#chats]) {
      const canonical = this.#identity.canonical(key);
      if (canonical === key) continue;
      this.#chats.delete(key);
      const target = this.#chats.get(canonical);
      if (!target) {
        entry.id = canonical;
        entry.jids.add(canonical);
        this.#chats.set(canonical, entry);
        continue;
      }
      merged++;
      for (const jid of entry.jids) target.jids.add(jid);
      target.name ??= entry.name;
      if (entry.oldest && (!target.oldest || entry.oldest.timestampMs < target.oldest.timestampMs)) {
        target.oldest = entry.oldest;
      }
      if (entry.newestMs !== null && (target.newestMs === null || entry.newestMs > target.newestMs)) {
        target.newestMs = entry.newestMs;
      }
    }
    return merged;
  }

  /** One chat as `ChatInfo`. */
  info(id: string): ChatInfo | null {
    const entry = this.#chats.get(this.#identity.canonical(id));
    return entry ? this.#toInfo(entry) : null;
  }

  /** Every chat as `ChatInfo`, newest activity first. */
  list(): ChatInfo[] {
    return [...this.#chats.values()]
      .sort((a, b) => (b.newestMs ?? 0) - (a.newestMs ?? 0) || a.id.localeCompare(b.id))
      .map((entry) => this.#toInfo(entry));
  }

  #entry(jid: string): ChatEntry {
    const n = normalizeJid(jid);
    const id = this.#identity.canonical(n);
    let entry = this.#chats.get(id);
    if (!entry) {
      entry = { id, jids: new Set([id]), name: null, oldest: null, newestMs: null, unreadCount: null };
      this.#chats.set(id, entry);
    }
    entry.jids.add(n);
    return entry;
  }

  #toInfo(entry: ChatEntry): ChatInfo {
    const metadata: Record<string, JsonValue> = { jids: [...entry.jids].sort() };
    if (entry.newestMs !== null) metadata.lastMessageAt = entry.newestMs;
    if (entry.oldest) metadata.oldestSeenAt = entry.oldest.timestampMs;
    if (entry.unreadCount !== null) metadata.unreadCount = entry.unreadCount;
    return {
      id: chatId(entry.id),
      name: entry.name,
      kind: chatKindOf(entry.id),
      altId: this.#identity.alternate(entry.id),
      readable: true,
      metadata,
    };
  }
}
