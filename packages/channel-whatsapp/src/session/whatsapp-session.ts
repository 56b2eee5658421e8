import {
  AuthError,
  type ChatInfo,
  type InstanceId,
  type Logger,
  type NormalizedContact,
  PermanentError,
  type PushedHistory,
  TransientError,
} from '@omni/sync-core';
import { proto } from '@whiskeysockets/baileys';
import { loadStoredAuthState, type StoredAuthState } from '../auth/stored-auth-state.ts';
import { decideOnClose } from '../connection/close-policy.ts';
import type { WhatsAppConnectionState, WhatsAppPairingCode } from '../connection/connection-state.ts';
import { renderQrCode } from '../connection/qr-code.ts';
import { DISCONNECT, disconnectStatusOf } from '../connection/reconnect-backoff.ts';
import type { HistoryCursor } from '../history/history-cursor.ts';
import { OnDemandCorrelator } from '../history/on-demand-correlator.ts';
import { IdentityMap } from '../identity/identity-map.ts';
import { normalizeJid } from '../identity/jid.ts';
import { mergeContact, normalizeContact } from '../normalize/normalize-contact.ts';
import type { SelfIdentity } from '../normalize/normalize-message.ts';
import { translateSocketError } from '../socket/socket-errors.ts';
import type { WhatsAppEventMap, WhatsAppSocket } from '../socket/whatsapp-socket.ts';
import type { ResolvedWhatsAppPluginOptions } from '../whatsapp-plugin-options.ts';
import { ChatRegistry } from './chat-registry.ts';
import {
  type AbsorbedHistory,
  absorbHistory,
  type HistorySetEvent,
  learnIdentities,
  unknownLids,
} from './history-absorber.ts';
import { SerialDelivery } from './serial-delivery.ts';

/** What a session reports to its plugin. */
export interface SessionHooks {
  onState(state: WhatsAppConnectionState): void;
  /** Pushed history, awaited (back-pressure); chunks are handed over one at a time, in order. */
  onHistory(batch: PushedHistory): Promise<void>;
  /** The open socket was handed what the server kept while the device was away. */
  onBacklogDelivered?(): void;
}

type Settle = (state: WhatsAppConnectionState) => boolean;

/**
 * One WhatsApp account in this process: its socket, connection lifecycle (QR, pairing, reconnect
 * with backoff, logout), auth state persistence on every `creds.update`, and what it learnt (LID ↔
 * phone pairs, chats, contacts) from the history the phone pushes.
 */
export class WhatsAppSession {
  readonly instanceId: InstanceId;
  readonly identity = new IdentityMap(() => this.#scheduleLinkPush());
  readonly chats = new ChatRegistry(this.identity);
  readonly contacts = new Map<string, NormalizedContact>();
  readonly self: SelfIdentity = { id: null, lid: null, name: null };
  /** Messages of pushed chunks the history handler had not accepted when the session stopped. */
  lostPushedMessages = 0;
  /**
   * True once this session was handed the phone's own push after linking (a chunk with
   * `isLatest`) or its contact list: only then is {@link contacts} the whole address book. A session
   * resumed from stored credentials (after a restart or a takeover) is not handed it again.
   */
  contactsComplete = false;
  readonly #options: ResolvedWhatsAppPluginOptions;
  readonly #hooks: SessionHooks;
  readonly #log: Logger;
  readonly #correlator: OnDemandCorrelator<HistorySetEvent>;
  #state: WhatsAppConnectionState;
  #socket: WhatsAppSocket | null = null;
  #auth: StoredAuthState | null = null;
  #detach: (() => void) | null = null;
  #starting: Promise<void> | null = null;
  #stopping = false;
  #qrCount = 0;
  #linkPushQueued = false;
  #seeded = false;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the open socket opened (UTC ms): since then every new message reaches it live. */
  #liveSince: number | null = null;
  readonly #pushes: SerialDelivery<PushedHistory>;
  #creds: Promise<void> = Promise.resolve();
  #qrChain: Promise<void> = Promise.resolve();
  readonly #settlers = new Set<Settle>();

  constructor(instanceId: InstanceId, options: ResolvedWhatsAppPluginOptions, hooks: SessionHooks) {
    this.instanceId = instanceId;
    this.#options = options;
    this.#hooks = hooks;
    this.#log = options.log;
    this.#state = {
      instanceId,
      status: 'idle',
      qr: null,
      user: null,
      lastError: null,
      reconnectAttempts: 0,
      updatedAt: Date.now(),
    };
    this.#correlator = new OnDemandCorrelator((event) => this.#enqueuePush(event));
    this.#pushes = new SerialDelivery((batch) => hooks.onHistory(batch), {
      retryBaseMs: options.pushRetryBaseMs,
      retryMaxMs: options.pushRetryMaxMs,
      onFailure: (batch, error, attempt, lost) => {
        if (lost) {
          this.lostPushedMessages += batch.messages.length;
          this.identity.restoreUnsaved(batch.lidMappings ?? []);
        }
        this.#log.error(
          { instanceId, err: error, syncType: batch.syncType, messages: batch.messages.length, attempt },
          lost
            ? 'storing pushed WhatsApp history failed as the session stopped: chunk lost'
            : 'storing pushed WhatsApp history failed: retrying until it is stored',
        );
      },
    });
  }

  /** The current connection state. */
  get state(): WhatsAppConnectionState {
    return this.#state;
  }

  /** The open socket, or `null`. */
  get socket(): WhatsAppSocket | null {
    return this.#state.status === 'open' ? this.#socket : null;
  }

  /** Starts the socket when there is none (idempotent). */
  async start(): Promise<void> {
    if (this.#socket) return;
    if (this.#starting) return this.#starting;
    this.#stopping = false;
    this.#pushes.resume();
    this.#starting = this.#open().finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  /** Resolves once the state is open, waiting for a link (qr), logged out or closed for good. */
  settled(timeoutMs: number): Promise<WhatsAppConnectionState> {
    const done = (s: WhatsAppConnectionState) =>
      s.status === 'open' ||
      s.status === 'qr' ||
      s.status === 'logged_out' ||
      (s.status === 'closed' && !this.#reconnectTimer);
    if (done(this.#state)) return Promise.resolve(this.#state);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#settlers.delete(settle);
        resolve(this.#state);
      }, timeoutMs);
      const settle: Settle = (s) => {
        if (!done(s)) return false;
        clearTimeout(timer);
        resolve(s);
        return true;
      };
      this.#settlers.add(settle);
    });
  }

  /**
   * The open socket, connecting first when needed. Not linked (QR shown) or logged out →
   * `AuthError`; not open in time → `TransientError`.
   */
  async ensureOpen(): Promise<WhatsAppSocket> {
    if (this.socket) return this.socket;
    // A logged-out session needs a new link through `connect`; a sync call does not start one.
    if (this.#state.status !== 'logged_out') await this.start();
    const state = await this.settled(this.#options.openTimeoutMs);
    if (state.status === 'open' && this.#socket) return this.#socket;
    if (state.status === 'qr' || state.status === 'logged_out') {
      throw new AuthError(
        state.status === 'qr'
          ? 'WhatsApp instance is not linked: scan the QR code or pair with a code first'
          : 'WhatsApp instance was logged out from the phone: link it again',
        { details: { instanceId: this.instanceId, status: state.status } },
      );
    }
    throw new TransientError(`WhatsApp connection is not open (status ${state.status})`, {
      details: { instanceId: this.instanceId, status: state.status, lastError: state.lastError },
    });
  }

  /**
   * Sends one on-demand history request and waits for its correlated answer. Messages of other
   * chats in the answer (Baileys' event buffer can merge chunks) are handed to the history handler.
   */
  async requestHistory(
    chat: string,
    cursor: HistoryCursor,
    count: number,
    signal: AbortSignal,
  ): Promise<AbsorbedHistory> {
    const socket = await this.ensureOpen();
    const key = {
      remoteJid: cursor.remoteJid,
      id: cursor.id,
      fromMe: cursor.fromMe,
      ...(cursor.participant ? { participant: cursor.participant } : {}),
    };
    const answer = await this.#correlator.request(
      () =>
        socket.fetchMessageHistory(count, key, cursor.timestampMs).catch((error: unknown) => {
          throw translateSocketError(error, 'the history request');
        }),
      this.#options.onDemandTimeoutMs,
      signal,
    );
    await this.#learnLids(answer.payload);
    const absorbed = absorbHistory(answer.payload, this.#absorbTarget());
    const canonical = this.identity.canonical(chat);
    const foreign = absorbed.messages.filter((m) => m.normalized.chatId !== canonical);
    if (foreign.length > 0) this.#pushes.enqueue(() => this.#batchOf({ ...absorbed, messages: foreign }));
    return { ...absorbed, messages: absorbed.messages.filter((m) => m.normalized.chatId === canonical) };
  }

  /** A chat as `ChatInfo`; a DM without a name of its own takes its contact's name or push name. */
  chatInfo(id: string): ChatInfo | null {
    const info = this.chats.info(id);
    if (!info || info.name || info.kind !== 'dm') return info;
    const contact = this.contacts.get(info.id);
    const name = contact?.name ?? contact?.verifiedName ?? contact?.pushName ?? null;
    return name ? { ...info, name } : info;
  }

  /** Every chat, newest activity first (names filled as {@link chatInfo} does). */
  listChats(): ChatInfo[] {
    return this.chats.list().map((c) => this.chatInfo(c.id) ?? c);
  }

  /** Resolves when every event received so far has been handled (pushed history stored, creds written). */
  async flush(): Promise<void> {
    await this.#pushes.idle();
    await this.#creds;
    await this.#qrChain;
  }

  /** Asks for a pairing code; the socket must be waiting for a link. */
  async requestPairingCode(phoneNumber: string): Promise<WhatsAppPairingCode> {
    const digits = phoneNumber.replace(/\D/g, '');
    if (digits.length < 6 || digits.length > 15) {
      throw new PermanentError(`not a phone number: ${phoneNumber}`, {
        details: { reason: 'invalid_phone_number' },
      });
    }
    await this.start();
    const state = await this.settled(this.#options.openTimeoutMs);
    if (state.status === 'open') {
      throw new PermanentError('WhatsApp instance is already linked', {
        details: { reason: 'already_linked' },
      });
    }
    if (state.status !== 'qr' || !this.#socket) {
      throw new TransientError(`cannot pair now (status ${state.status})`, {
        details: { reason: 'not_ready' },
      });
    }
    const code = await this.#socket.requestPairingCode(digits);
    return {
      code,
      phoneNumber: `+${digits}`,
      expiresIn: Math.round(this.#options.pairingCodeTtlMs / 1000),
      message: 'Open WhatsApp on the phone → Linked devices → Link with phone number, and enter this code',
    };
  }

  /** Unlinks the device and deletes the auth state. */
  async logout(): Promise<void> {
    const socket = this.#socket;
    this.#stopping = true;
    this.#cancelReconnect();
    if (socket) {
      try {
        await socket.logout();
      } catch (error) {
        this.#log.warn({ instanceId: this.instanceId, err: error }, 'whatsapp logout call failed');
      }
    }
    this.#teardown(new AuthError('logged out'));
    await this.#creds;
    await this.#auth?.clear();
    this.#auth = null;
    this.#setState({
      status: 'logged_out',
      qr: null,
      lastError: { statusCode: DISCONNECT.loggedOut, message: 'logged out' },
    });
  }

  /** Closes the socket, keeps the auth state. Pushed chunks still queued are tried once more each. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#cancelReconnect();
    this.#pushes.stop();
    this.#socket?.end(undefined);
    this.#teardown(new TransientError('WhatsApp connection closed'));
    await this.flush();
    if (this.#state.status !== 'logged_out') this.#setState({ status: 'closed', qr: null });
  }

  async #open(): Promise<void> {
    this.#auth ??= await loadStoredAuthState(this.#options.authStore, this.instanceId);
    if (!this.#seeded) {
      this.identity.seed(await this.#options.storedLidMappings(this.instanceId));
      this.#seeded = true;
    }
    this.#qrCount = 0;
    this.#setState({ status: 'connecting' });
    const socket = await this.#options.socketFactory({
      instanceId: this.instanceId,
      auth: this.#auth.state,
      shouldSyncHistoryMessage: () => true,
      log: this.#log,
    });
    this.#socket = socket;
    this.#detach = this.#attach(socket);
  }

  #attach(socket: WhatsAppSocket): () => void {
    const listeners: { [E in keyof WhatsAppEventMap]: (arg: WhatsAppEventMap[E]) => void } = {
      'connection.update': (update) => this.#onConnection(socket, update),
      'creds.update': (update) => this.#onCreds(update),
      'messaging-history.set': (event) => this.#onHistorySet(event),
      'messages.upsert': ({ messages, type }) => {
        if (this.#options.pushLiveMessages && messages.length > 0) {
          // `notify`: sent now, received live; `append`: delivered late (the offline queue, own
          // messages from another device), which proves nothing about what came before it.
          const event = { chats: [], contacts: [], messages, syncType: null, progress: null };
          if (type === 'notify') this.#enqueuePush(event, 'LIVE', this.#liveSince);
          else this.#enqueuePush(event, 'APPEND');
        }
      },
      'contacts.upsert': (contacts) => this.#onContacts(contacts),
      'contacts.update': (contacts) => this.#onContacts(contacts),
      'chats.upsert': (chats) => {
        for (const chat of chats) if (chat.id) this.chats.upsert(chat.id, chat.name ?? null);
      },
      'lid-mapping.update': (pair) => {
        if (this.identity.link(pair.lid, pair.pn)) this.chats.rekey();
      },
    };
    const names = Object.keys(listeners) as (keyof WhatsAppEventMap)[];
    for (const name of names) socket.ev.on(name, listeners[name] as never);
    return () => {
      for (const name of names) socket.ev.off(name, listeners[name] as never);
    };
  }

  #onConnection(socket: WhatsAppSocket, update: WhatsAppEventMap['connection.update']): void {
    if (socket !== this.#socket) return;
    if (update.qr) {
      const code = update.qr;
      this.#qrCount++;
      const ttl = this.#qrCount === 1 ? this.#options.firstQrTtlMs : this.#options.qrTtlMs;
      const now = Date.now();
      this.#qrChain = this.#qrChain
        .then(() => renderQrCode(code, ttl, now))
        .then((qr) => {
          if (socket === this.#socket) this.#setState({ status: 'qr', qr });
        })
        .catch((error: unknown) =>
          this.#log.error({ instanceId: this.instanceId, err: error }, 'QR rendering failed'),
        );
    }
    if (update.connection === 'open') {
      this.#qrCount = 0;
      this.#liveSince = Date.now();
      const user = socket.user;
      if (user) {
        this.self.id = normalizeJid(user.id);
        this.self.lid = user.lid ? normalizeJid(user.lid) : null;
        this.self.name = user.name ?? user.notify ?? null;
        this.identity.link(this.self.lid, this.self.id);
      }
      this.#setState({
        status: 'open',
        qr: null,
        reconnectAttempts: 0,
        user: this.self.id
          ? { id: this.self.id, lid: this.self.lid ?? null, name: this.self.name ?? null }
          : null,
      });
    } else if (update.connection === 'close') {
      this.#onClose(update.lastDisconnect?.error);
    }
    if (update.receivedPendingNotifications === true && this.#state.status === 'open') {
      this.#hooks.onBacklogDelivered?.();
    }
  }

  #onClose(error: unknown): void {
    const statusCode = disconnectStatusOf(error);
    const lastError = { statusCode, message: error instanceof Error ? error.message : 'connection closed' };
    this.#teardown(
      new TransientError(`WhatsApp connection closed (${statusCode ?? 'no status'})`, { cause: error }),
    );
    const decision = decideOnClose({
      statusCode,
      stopping: this.#stopping,
      attempts: this.#state.reconnectAttempts,
      maxAttempts: this.#options.maxReconnectAttempts,
      baseMs: this.#options.reconnectBaseMs,
      maxMs: this.#options.reconnectMaxMs,
    });
    const log = { instanceId: this.instanceId, statusCode };
    switch (decision.action) {
      case 'stopped':
        this.#setState({ status: 'closed', qr: null, lastError });
        return;
      case 'logged_out': {
        this.#log.warn(log, 'whatsapp logged out: not reconnecting');
        this.#setState({ status: 'logged_out', qr: null, lastError });
        const auth = this.#auth;
        this.#auth = null;
        this.#creds = this.#creds.then(() => auth?.clear()).catch(() => undefined);
        return;
      }
      case 'replaced':
        this.#log.warn(log, 'whatsapp session opened elsewhere: not reconnecting');
        this.#setState({ status: 'closed', qr: null, lastError });
        return;
      case 'give_up':
        this.#log.error({ ...log, attempts: decision.attempts }, 'whatsapp reconnects exhausted');
        this.#setState({ status: 'closed', qr: null, lastError, reconnectAttempts: decision.attempts });
        return;
      case 'reconnect':
        this.#reconnectTimer = setTimeout(() => {
          this.#reconnectTimer = null;
          void this.start().catch((err: unknown) => this.#onClose(err));
        }, decision.delayMs);
        this.#setState({ status: 'connecting', qr: null, lastError, reconnectAttempts: decision.attempts });
    }
  }

  #onCreds(update: WhatsAppEventMap['creds.update']): void {
    const auth = this.#auth;
    if (!auth) return;
    Object.assign(auth.state.creds, update);
    this.#creds = this.#creds
      .then(() => auth.saveCreds())
      .catch((error: unknown) =>
        this.#log.error({ instanceId: this.instanceId, err: error }, 'saving creds failed'),
      );
  }

  #onContacts(contacts: WhatsAppEventMap['contacts.upsert'] | WhatsAppEventMap['contacts.update']): void {
    for (const contact of contacts) {
      const normalized = normalizeContact(contact, this.identity);
      if (!normalized) continue;
      this.contacts.set(
        normalized.externalId,
        mergeContact(this.contacts.get(normalized.externalId), normalized),
      );
    }
    this.chats.rekey();
  }

  #onHistorySet(event: HistorySetEvent): void {
    if (event.syncType === proto.HistorySync.HistorySyncType.ON_DEMAND) {
      this.#correlator.deliver(event.peerDataRequestSessionId, event);
      return;
    }
    this.#enqueuePush(event);
  }

  #enqueuePush(event: HistorySetEvent, syncType?: string, liveSince?: number | null): void {
    this.#pushes.enqueue(async () => {
      await this.#learnLids(event);
      const absorbed = absorbHistory(event, this.#absorbTarget());
      // The last chunk of the phone's own push: the address book it carries is now all there is.
      if (!syncType && absorbed.syncType !== 'ON_DEMAND' && absorbed.isLatest) this.contactsComplete = true;
      const batch = this.#batchOf(syncType ? { ...absorbed, syncType } : absorbed);
      return typeof liveSince === 'number' ? { ...batch, liveSince } : batch;
    });
  }

  #batchOf(absorbed: AbsorbedHistory): PushedHistory {
    return {
      instanceId: this.instanceId,
      syncType: absorbed.syncType,
      messages: absorbed.messages.map((m) => m.normalized),
      chats: absorbed.chatIds.map((id) => this.chatInfo(id)).filter((c) => c !== null),
      contacts: absorbed.contacts,
      progress: absorbed.progress,
      isLatest: absorbed.isLatest ?? false,
      lidMappings: this.identity.takeUnsaved(),
    };
  }

  /**
   * Hands pairs learnt outside a history chunk (`lid-mapping.update`, the own account, on-demand
   * answers) to the history handler as a chunk of their own, behind the chunks already queued;
   * pairs a queued chunk takes with it are not sent twice.
   */
  #scheduleLinkPush(): void {
    if (this.#linkPushQueued) return;
    this.#linkPushQueued = true;
    this.#pushes.enqueue(() => {
      this.#linkPushQueued = false;
      const lidMappings = this.identity.takeUnsaved();
      if (lidMappings.length === 0) return null;
      return {
        instanceId: this.instanceId,
        syncType: 'LID_MAPPING',
        messages: [],
        chats: [],
        contacts: [],
        isLatest: false,
        lidMappings,
      };
    });
  }

  /** Asks Baileys' LID store for the phone JIDs of LIDs a chunk mentions that no event stated. */
  async #learnLids(event: HistorySetEvent): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    learnIdentities(event, this.identity);
    for (const lid of unknownLids(event, this.identity)) {
      const pn = await socket.signalRepository.lidMapping.getPNForLID(lid).catch(() => null);
      this.identity.link(lid, pn);
    }
  }

  #absorbTarget() {
    return {
      identity: this.identity,
      chats: this.chats,
      contacts: this.contacts,
      self: this.self,
      includeRaw: this.#options.includeRaw,
    };
  }

  #teardown(reason: Error): void {
    this.#liveSince = null;
    this.#detach?.();
    this.#detach = null;
    this.#socket = null;
    this.#correlator.failAll(reason);
  }

  #cancelReconnect(): void {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }

  #setState(patch: Partial<WhatsAppConnectionState>): void {
    this.#state = { ...this.#state, ...patch, updatedAt: Date.now() };
    for (const settle of [...this.#settlers]) if (settle(this.#state)) this.#settlers.delete(settle);
    this.#hooks.onState(this.#state);
  }
}
