import type { JsonValue, StoredMessageRef } from '@omni/sync-core';

/** Where backward paging of one chat stands: the oldest message reached so far. */
export interface HistoryCursor {
  [key: string]: JsonValue;
  /** Message id of the oldest message reached. */
  id: string;
  /** Chat JID as the phone addressed that message (may be the LID form). */
  remoteJid: string;
  fromMe: boolean;
  participant: string | null;
  /** Its timestamp, UTC ms. */
  timestampMs: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a cursor written by `fetchHistory`; `null` when the value is not one. */
export function parseHistoryCursor(value: JsonValue | null | undefined): HistoryCursor | null {
  if (!isRecord(value)) return null;
  const { id, remoteJid, fromMe, participant, timestampMs } = value;
  if (typeof id !== 'string' || typeof remoteJid !== 'string' || typeof timestampMs !== 'number') return null;
  return {
    id,
    remoteJid,
    fromMe: fromMe === true,
    participant: typeof participant === 'string' ? participant : null,
    timestampMs,
  };
}

/**
 * The cursor of a stored message (`FetchHistoryParams.anchor`): its raw payload's key when it has
 * one (the phone wants the JID it used), else the ids we keyed it by.
 */
export function cursorFromAnchor(
  anchor: StoredMessageRef,
  chatId: string,
  selfId: string | null,
): HistoryCursor {
  const raw = isRecord(anchor.raw) ? anchor.raw : {};
  const key = isRecord(raw.key) ? raw.key : {};
  return {
    id: typeof key.id === 'string' ? key.id : anchor.externalId,
    remoteJid: typeof key.remoteJid === 'string' ? key.remoteJid : chatId,
    fromMe: typeof key.fromMe === 'boolean' ? key.fromMe : selfId !== null && anchor.senderId === selfId,
    participant: typeof key.participant === 'string' ? key.participant : null,
    timestampMs: anchor.timestamp,
  };
}
