import {
  type GroupMetadata,
  proto,
  type USyncQueryResultList,
  type WABusinessProfile,
  type WAMessage,
  type WAMessageKey,
} from '@whiskeysockets/baileys';
import { FakeEventEmitter } from './fake-event-emitter.ts';
import { encodeHistorySync, type HistoryConversation, historySetEventFromBytes } from './history-chunk.ts';
import type { FakeMediaServer } from './media-server.ts';

/** A chat on the fake phone, with every message the phone has for it. */
export interface FakeChat {
  /** The JID the phone uses for the chat. */
  jid: string;
  /** The other form of the same chat (phone JID of a LID chat or the reverse). */
  altJid?: string;
  name?: string;
  /** All messages the phone holds, any order. */
  messages: proto.IWebMessageInfo[];
}

/** How the phone answers on-demand history requests. */
export type PhoneBehaviour = 'online' | 'offline' | 'empty';

/** The script a {@link FakeWhatsAppSocket} plays. */
export interface FakeWhatsAppScenario {
  me: { id: string; lid?: string; name: string };
  /** Already linked: opens without a QR (default `true`). */
  linked?: boolean;
  chats: FakeChat[];
  /** Messages at or after this unix second go into the initial push (default: all). */
  bootstrapSince?: number;
  /**
   * Messages older than `bootstrapSince` but at or after this unix second are pushed as FULL chunks,
   * which Baileys drops unless the socket's `shouldSyncHistoryMessage` keeps them (default: none).
   */
  fullSince?: number;
  /** Messages per pushed chunk (default 500). */
  chunkSize?: number;
  /** Push every chunk this many times (default 1): chunks can repeat. */
  pushRepeats?: number;
  /** Answer every on-demand request this many times (default 1). */
  onDemandRepeats?: number;
  /** Push history right after opening (default `true`). */
  pushOnOpen?: boolean;
  /**
   * Messages the server kept for the device while it was away (add them to their chat's
   * `messages` too): delivered right after the next open as one `messages.upsert` of type `append`,
   * as Baileys hands over the offline queue, then cleared. Every open ends with
   * `receivedPendingNotifications: true`, as Baileys says when that queue is handed over.
   */
  offlineQueue?: proto.IWebMessageInfo[];
  phone?: PhoneBehaviour;
  /** LID ↔ phone pairs the push announces (`phoneNumberToLidMappings`). */
  lidPnMappings?: { lid: string; pn: string }[];
  /** Pairs only the socket's LID store knows (`signalRepository.lidMapping`), never announced in events. */
  storedLidPnMappings?: { lid: string; pn: string }[];
  pushNames?: { id: string; pushname: string }[];
  profile?: {
    pictureUrl?: string;
    status?: string;
    business?: WABusinessProfile;
  };
  groups?: GroupMetadata[];
  /** Serves the media of the messages; re-uploads go through it. */
  media?: FakeMediaServer;
  /** When set, every socket closes with this status code right after `connecting` (server unreachable…). */
  connectFailure?: number;
  /** Pairing code answered by `requestPairingCode` (default `FAKE1234`). */
  pairingCode?: string;
}

/** Faults shared by every socket of a factory: refusals to inject and how many were sent. */
export class FakeWhatsAppFaults {
  /** History requests still to refuse with rate-overlimit. */
  pendingRateLimits = 0;
  /** Rate-overlimit refusals answered so far. */
  rateLimitsSent = 0;

  /** Makes the next `count` `fetchMessageHistory` calls fail with WhatsApp's rate-overlimit (429). */
  injectRateLimits(count: number): void {
    this.pendingRateLimits += count;
  }
}

/** An on-demand history request the fake received. */
export interface RecordedHistoryRequest {
  id: string;
  count: number;
  key: WAMessageKey;
  timestampMs: number;
}

const ts = (m: proto.IWebMessageInfo): number => Number(m.messageTimestamp ?? 0);
const newestFirst = (a: proto.IWebMessageInfo, b: proto.IWebMessageInfo) =>
  ts(b) - ts(a) || String(b.key?.id).localeCompare(String(a.key?.id));

function statusError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { output: { statusCode } });
}

/**
 * A stand-in for a Baileys socket with exactly the surface `@omni/channel-whatsapp` uses. History
 * is pushed as real `proto.HistorySync` bytes run through Baileys' `processHistoryMessage`; on-demand
 * requests are answered as ON_DEMAND chunks carrying the request id as `peerDataRequestSessionId`.
 */
export class FakeWhatsAppSocket {
  readonly ev = new FakeEventEmitter();
  user: { id: string; lid?: string; name?: string } | undefined;
  readonly scenario: FakeWhatsAppScenario;
  /** Every on-demand request, in order. */
  readonly historyRequests: RecordedHistoryRequest[] = [];
  /** Every media re-upload request, in order (message ids). */
  readonly reuploadRequests: string[] = [];
  /** Every pairing-code request (phone numbers). */
  readonly pairingRequests: string[] = [];
  /** Calls of the socket's methods, by name. */
  readonly calls = new Map<string, number>();
  ended = false;
  loggedOut = false;
  readonly signalRepository: { lidMapping: { getPNForLID(lid: string): Promise<string | null> } };
  #requestSeq = 0;
  #pending = new Set<ReturnType<typeof setTimeout>>();

  readonly #shouldSync: (msg: { syncType: proto.HistorySync.HistorySyncType }) => boolean;

  readonly faults: FakeWhatsAppFaults;

  constructor(
    scenario: FakeWhatsAppScenario,
    shouldSyncHistoryMessage: (msg: { syncType: proto.HistorySync.HistorySyncType }) => boolean = ({
      syncType,
    }) => syncType !== proto.HistorySync.HistorySyncType.FULL,
    faults: FakeWhatsAppFaults = new FakeWhatsAppFaults(),
  ) {
    this.scenario = scenario;
    this.faults = faults;
    this.#shouldSync = shouldSyncHistoryMessage;
    this.signalRepository = {
      lidMapping: {
        getPNForLID: async (lid: string) =>
          [...(scenario.lidPnMappings ?? []), ...(scenario.storedLidPnMappings ?? [])].find(
            (m) => m.lid === lid,
          )?.pn ?? null,
      },
    };
  }

  /** Plays the connection: connecting → (qr) → open → history push. Called on the next tick by the factory. */
  async start(): Promise<void> {
    this.ev.emit('connection.update', { connection: 'connecting' });
    if (this.scenario.connectFailure !== undefined) {
      this.drop(this.scenario.connectFailure);
      return;
    }
    if (this.scenario.linked === false) {
      this.ev.emit('connection.update', { qr: `2@fake-qr-${crypto.randomUUID()}` });
      return;
    }
    await this.open();
  }

  /** Completes linking (as if the QR was scanned or the pairing code entered), then opens. */
  async open(): Promise<void> {
    const { me } = this.scenario;
    this.user = { id: me.id, ...(me.lid ? { lid: me.lid } : {}), name: me.name };
    this.ev.emit('creds.update', {
      me: { id: me.id, name: me.name, ...(me.lid ? { lid: me.lid } : {}) },
      registered: true,
    });
    this.ev.emit('connection.update', { connection: 'open', isNewLogin: this.scenario.linked === false });
    if (this.scenario.pushOnOpen !== false) this.pushHistory();
    const queued = this.scenario.offlineQueue ?? [];
    this.scenario.offlineQueue = [];
    if (queued.length > 0) {
      const decoded = queued.map((m) => proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(m).finish()));
      this.ev.emit('messages.upsert', { messages: decoded as WAMessage[], type: 'append' });
    }
    this.ev.emit('connection.update', { receivedPendingNotifications: true });
  }

  /**
   * Emits the initial history push: INITIAL_BOOTSTRAP chunks (messages since `bootstrapSince`), FULL
   * chunks (since `fullSince`, when the socket keeps them), then push names; all `pushRepeats` times.
   */
  pushHistory(): void {
    const HT = proto.HistorySync.HistorySyncType;
    const bootstrapSince = this.scenario.bootstrapSince ?? 0;
    const fullSince = this.scenario.fullSince ?? Number.POSITIVE_INFINITY;
    const bootstrap = this.#chunks((t) => t >= bootstrapSince, true);
    const full = this.#shouldSync({ syncType: HT.FULL })
      ? this.#chunks((t) => t < bootstrapSince && t >= fullSince, false)
      : [];
    for (let r = 0; r < (this.scenario.pushRepeats ?? 1); r++) {
      const all = [
        ...bootstrap.map((c) => ({ type: HT.INITIAL_BOOTSTRAP, convs: c })),
        ...full.map((c) => ({ type: HT.FULL, convs: c })),
      ];
      all.forEach(({ type, convs }, index) => {
        const bytes = encodeHistorySync({
          syncType: type,
          conversations: convs,
          lidPnMappings: index === 0 ? this.scenario.lidPnMappings : [],
          chunkOrder: index,
          progress: Math.round(((index + 1) / all.length) * 100),
        });
        this.ev.emit(
          'messaging-history.set',
          historySetEventFromBytes(bytes, { isLatest: index === all.length - 1 }),
        );
      });
      if (this.scenario.pushNames?.length) {
        const bytes = encodeHistorySync({
          syncType: HT.PUSH_NAME,
          conversations: [],
          pushnames: this.scenario.pushNames,
        });
        this.ev.emit('messaging-history.set', historySetEventFromBytes(bytes));
      }
    }
  }

  #chunks(select: (unixSeconds: number) => boolean, keepEmptyChats: boolean): HistoryConversation[][] {
    const size = this.scenario.chunkSize ?? 500;
    const flat: { chat: FakeChat; message: proto.IWebMessageInfo }[] = [];
    for (const chat of this.scenario.chats) {
      for (const message of [...chat.messages].sort(newestFirst)) {
        if (select(ts(message))) flat.push({ chat, message });
      }
    }
    const chunks: HistoryConversation[][] = [];
    for (let i = 0; i < flat.length; i += size) {
      const byChat = new Map<FakeChat, HistoryConversation>();
      for (const { chat, message } of flat.slice(i, i + size)) {
        let conv = byChat.get(chat);
        if (!conv) {
          conv = this.#conversation(chat, []);
          byChat.set(chat, conv);
        }
        conv.messages.push(message);
      }
      chunks.push([...byChat.values()]);
    }
    if (chunks.length === 0 && keepEmptyChats)
      chunks.push(this.scenario.chats.map((c) => this.#conversation(c, [])));
    return chunks;
  }

  /**
   * Emits `messages.upsert` as Baileys does for messages arriving while connected; each message goes
   * through a `proto.WebMessageInfo` encode/decode first. Adds them to the phone's chat too.
   */
  emitLiveMessages(messages: proto.IWebMessageInfo[], type: 'notify' | 'append' = 'notify'): void {
    for (const message of messages) {
      const chat = this.scenario.chats.find((c) => c.jid === message.key?.remoteJid);
      chat?.messages.push(message);
    }
    const decoded = messages.map((m) => proto.WebMessageInfo.decode(proto.WebMessageInfo.encode(m).finish()));
    this.ev.emit('messages.upsert', { messages: decoded as WAMessage[], type });
  }

  /** Emits `lid-mapping.update` as Baileys does when it learns a pair. */
  emitLidMapping(lid: string, pn: string): void {
    this.scenario.lidPnMappings = [...(this.scenario.lidPnMappings ?? []), { lid, pn }];
    this.ev.emit('lid-mapping.update', { lid, pn });
  }

  /** Drops the connection with a status code (401 logged out, 428 closed, 515 restart required…). */
  drop(statusCode: number): void {
    this.ev.emit('connection.update', {
      connection: 'close',
      lastDisconnect: {
        error: statusError(statusCode, `connection closed (${statusCode})`),
        date: new Date(),
      },
    });
  }

  async fetchMessageHistory(count: number, key: WAMessageKey, timestampMs: number): Promise<string> {
    this.#count('fetchMessageHistory');
    if (this.faults.pendingRateLimits > 0) {
      this.faults.pendingRateLimits--;
      this.faults.rateLimitsSent++;
      throw statusError(429, 'rate-overlimit');
    }
    this.#requestSeq++;
    const id = `3EB0${this.#requestSeq.toString(16).toUpperCase().padStart(8, '0')}`;
    this.historyRequests.push({ id, count, key, timestampMs });
    const phone = this.scenario.phone ?? 'online';
    if (phone === 'offline') return id;
    const chat = this.scenario.chats.find((c) => c.jid === key.remoteJid || c.altJid === key.remoteJid);
    let older: proto.IWebMessageInfo[] = [];
    if (chat && phone === 'online') {
      const sorted = [...chat.messages].sort(newestFirst);
      const at = sorted.findIndex((m) => m.key?.id === key.id);
      older = (at >= 0 ? sorted.slice(at + 1) : sorted.filter((m) => ts(m) * 1000 < timestampMs)).slice(
        0,
        count,
      );
    }
    const conv = chat ? this.#conversation(chat, older) : { id: key.remoteJid ?? '', messages: [] };
    const bytes = encodeHistorySync({
      syncType: proto.HistorySync.HistorySyncType.ON_DEMAND,
      conversations: [conv],
    });
    for (let r = 0; r < (this.scenario.onDemandRepeats ?? 1); r++) {
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        if (!this.ended) {
          this.ev.emit(
            'messaging-history.set',
            historySetEventFromBytes(bytes, { peerDataRequestSessionId: id }),
          );
        }
      }, 0);
      this.#pending.add(timer);
    }
    return id;
  }

  async profilePictureUrl(_jid: string, _type?: 'preview' | 'image'): Promise<string | undefined> {
    this.#count('profilePictureUrl');
    return this.scenario.profile?.pictureUrl;
  }

  async fetchStatus(...jids: string[]): Promise<USyncQueryResultList[] | undefined> {
    this.#count('fetchStatus');
    const status = this.scenario.profile?.status;
    if (status === undefined) return [];
    return jids.map((id) => ({ id, status: { status, setAt: new Date(0) } }));
  }

  async getBusinessProfile(_jid: string): Promise<WABusinessProfile | undefined> {
    this.#count('getBusinessProfile');
    return this.scenario.profile?.business;
  }

  async updateMediaMessage(message: WAMessage): Promise<WAMessage> {
    this.#count('updateMediaMessage');
    this.reuploadRequests.push(message.key.id ?? '');
    const content = message.message ?? {};
    const copy: WAMessage = { ...message, message: { ...content } };
    for (const field of [
      'imageMessage',
      'videoMessage',
      'audioMessage',
      'documentMessage',
      'stickerMessage',
    ] as const) {
      const media = content[field];
      if (!media?.url) continue;
      const url = this.scenario.media?.reupload(media.url) ?? null;
      if (!url) throw statusError(404, 'media not found on the phone');
      (copy.message as Record<string, unknown>)[field] = { ...media, url, directPath: null };
      return copy;
    }
    throw statusError(400, 'not a media message');
  }

  async groupFetchAllParticipating(): Promise<{ [jid: string]: GroupMetadata }> {
    this.#count('groupFetchAllParticipating');
    return Object.fromEntries((this.scenario.groups ?? []).map((g) => [g.id, g]));
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    this.#count('requestPairingCode');
    this.pairingRequests.push(phoneNumber);
    return this.scenario.pairingCode ?? 'FAKE1234';
  }

  async logout(_msg?: string): Promise<void> {
    this.#count('logout');
    this.loggedOut = true;
    this.drop(401);
    this.end(undefined);
  }

  end(_error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }

  #conversation(chat: FakeChat, messages: proto.IWebMessageInfo[]): HistoryConversation {
    const conv: HistoryConversation = { id: chat.jid, messages: [...messages] };
    if (chat.name) conv.name = chat.name;
    if (chat.altJid?.endsWith('@lid')) conv.lidJid = chat.altJid;
    if (chat.altJid?.endsWith('@s.whatsapp.net')) conv.pnJid = chat.altJid;
    return conv;
  }

  #count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }
}

/** A socket factory producing {@link FakeWhatsAppSocket}s that start on the next tick. */
export interface FakeSocketFactory {
  /** Pass as the plugin's `socketFactory`; honours its `shouldSyncHistoryMessage` like Baileys. */
  factory: (args?: { shouldSyncHistoryMessage?: () => boolean }) => FakeWhatsAppSocket;
  /** Every socket made, in order (reconnects make new ones). */
  sockets: FakeWhatsAppSocket[];
  /** The newest socket. */
  readonly last: FakeWhatsAppSocket | undefined;
  /** Faults shared by all its sockets (rate-limit injection). */
  faults: FakeWhatsAppFaults;
}

/** Creates a factory whose sockets all play `scenario` (edit it between connects to change the script). */
export function createFakeSocketFactory(scenario: FakeWhatsAppScenario): FakeSocketFactory {
  const sockets: FakeWhatsAppSocket[] = [];
  const faults = new FakeWhatsAppFaults();
  return {
    sockets,
    faults,
    get last() {
      return sockets.at(-1);
    },
    factory: (args) => {
      const keep = args?.shouldSyncHistoryMessage;
      const socket = new FakeWhatsAppSocket(scenario, keep ? () => keep() : undefined, faults);
      sockets.push(socket);
      setTimeout(() => void socket.start(), 0);
      return socket;
    },
  };
}
