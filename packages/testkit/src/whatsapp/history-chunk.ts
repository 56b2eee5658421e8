import { type BaileysEventMap, processHistoryMessage, proto } from '@whiskeysockets/baileys';

/** The payload of Baileys' `messaging-history.set` event. */
export type HistorySetEvent = BaileysEventMap['messaging-history.set'];

/** One conversation of a history chunk. */
export interface HistoryConversation {
  id: string;
  name?: string;
  pnJid?: string;
  lidJid?: string;
  messages: proto.IWebMessageInfo[];
}

/** What a history chunk holds. */
export interface HistoryChunkSpec {
  syncType: proto.HistorySync.HistorySyncType;
  conversations: HistoryConversation[];
  pushnames?: { id: string; pushname: string }[];
  lidPnMappings?: { lid: string; pn: string }[];
  chunkOrder?: number;
  progress?: number;
}

/** Encodes a chunk as the phone would: a `proto.HistorySync`, serialized to bytes. */
export function encodeHistorySync(spec: HistoryChunkSpec): Uint8Array {
  const sync = proto.HistorySync.fromObject({
    syncType: spec.syncType,
    chunkOrder: spec.chunkOrder ?? 0,
    progress: spec.progress ?? 0,
    conversations: spec.conversations.map((c) => ({
      id: c.id,
      name: c.name,
      pnJid: c.pnJid,
      lidJid: c.lidJid,
      messages: c.messages.map((message) => ({ message })),
    })),
    pushnames: spec.pushnames ?? [],
    phoneNumberToLidMappings: (spec.lidPnMappings ?? []).map((m) => ({ lidJid: m.lid, pnJid: m.pn })),
  });
  return proto.HistorySync.encode(sync).finish();
}

/**
 * The `messaging-history.set` payload Baileys would emit for these bytes: decoded with
 * `proto.HistorySync.decode` and passed through Baileys' own `processHistoryMessage`.
 */
export function historySetEventFromBytes(
  bytes: Uint8Array,
  extra: { isLatest?: boolean; peerDataRequestSessionId?: string | null } = {},
): HistorySetEvent {
  const decoded = proto.HistorySync.decode(bytes);
  const data = processHistoryMessage(decoded);
  const ON_DEMAND = proto.HistorySync.HistorySyncType.ON_DEMAND;
  return {
    ...data,
    isLatest: data.syncType !== ON_DEMAND ? (extra.isLatest ?? false) : undefined,
    chunkOrder: decoded.chunkOrder,
    peerDataRequestSessionId: extra.peerDataRequestSessionId ?? null,
  };
}
