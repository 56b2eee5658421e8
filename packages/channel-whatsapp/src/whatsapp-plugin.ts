import type {
  ChannelPlugin,
  ChannelProfile,
  ChatIdValidator,
  ChatListing,
  ContactsSource,
  DirectoryPage,
  FetchHistoryParams,
  GroupsSource,
  HistoryBatch,
  HistoryPushSource,
  InstanceId,
  MediaDescriptor,
  MediaSource,
  NormalizedContact,
  NormalizedGroup,
  NormalizedMessage,
  PageParams,
  PluginContext,
  PushedHistory,
} from '@omni/sync-core';
import type {
  WhatsAppConnectionControl,
  WhatsAppConnectionState,
  WhatsAppPairingCode,
  WhatsAppQrCode,
} from './connection/connection-state.ts';
import { fetchWhatsAppHistory } from './history/fetch-history.ts';
import { isChatJid } from './identity/jid.ts';
import { downloadWhatsAppMedia } from './media/download-media.ts';
import { normalizeGroup } from './normalize/normalize-group.ts';
import { getWhatsAppProfile } from './profile/get-profile.ts';
import { WhatsAppSession } from './session/whatsapp-session.ts';
import { isRateOverlimit, translateSocketError } from './socket/socket-errors.ts';
import { WHATSAPP_CAPABILITIES } from './whatsapp-capabilities.ts';
import {
  DEFAULT_WHATSAPP_PLUGIN_OPTIONS,
  type ResolvedWhatsAppPluginOptions,
  type WhatsAppPluginOptions,
} from './whatsapp-plugin-options.ts';

/** The WhatsApp plugin: every optional power of the contract plus the connection lifecycle. */
export interface WhatsAppPlugin
  extends ChannelPlugin,
    HistoryPushSource,
    MediaSource,
    ContactsSource,
    GroupsSource,
    ChatIdValidator,
    WhatsAppConnectionControl {
  /** Resolves once every event received so far is handled (pushed chunks handed over, creds saved). */
  flush(instanceId: InstanceId): Promise<void>;
  /**
   * Calls `listener` each time an opened socket has been handed what the server kept while the
   * device was away (Baileys' `receivedPendingNotifications`): those messages are queued for the
   * history handler by then (`flush` waits for them). Returns the unsubscribe function.
   */
  onBacklogDelivered(listener: (instanceId: InstanceId) => void): () => void;
  /** Closes every socket (auth state kept). */
  close(): Promise<void>;
}

function offsetOf(cursor: PageParams['cursor']): number {
  return typeof cursor === 'number' && cursor >= 0 ? cursor : 0;
}

function* pages<T>(items: T[], size: number, start: number): Generator<DirectoryPage<T>> {
  if (items.length === 0 || start >= items.length) {
    yield { items: [], cursor: items.length, hasMore: false };
    return;
  }
  for (let offset = start; offset < items.length; offset += size) {
    const end = Math.min(items.length, offset + size);
    yield { items: items.slice(offset, end), cursor: end, hasMore: end < items.length };
  }
}

class WhatsAppChannelPlugin implements WhatsAppPlugin {
  readonly id = 'whatsapp-baileys' as const;
  readonly capabilities = WHATSAPP_CAPABILITIES;
  readonly #options: ResolvedWhatsAppPluginOptions;
  readonly #sessions = new Map<InstanceId, WhatsAppSession>();
  readonly #listeners = new Set<(state: WhatsAppConnectionState) => void>();
  readonly #backlogListeners = new Set<(instanceId: InstanceId) => void>();
  readonly #waitingPushes: PushedHistory[] = [];
  #handler: ((batch: PushedHistory) => Promise<void>) | null = null;

  constructor(options: WhatsAppPluginOptions) {
    this.#options = { ...DEFAULT_WHATSAPP_PLUGIN_OPTIONS, ...options } as ResolvedWhatsAppPluginOptions;
  }

  setHistoryHandler(handler: (batch: PushedHistory) => Promise<void>): void {
    this.#handler = handler;
    if (this.#waitingPushes.length > 0) {
      void this.#drainHeld().catch((error: unknown) =>
        this.#options.log.error({ err: error }, 'storing held WhatsApp history failed'),
      );
    }
  }

  async getProfile(ctx: PluginContext): Promise<ChannelProfile> {
    const session = this.#session(ctx.instance.id);
    return getWhatsAppProfile(ctx, await session.ensureOpen());
  }

  async listChats(ctx: PluginContext): Promise<ChatListing> {
    const session = this.#session(ctx.instance.id);
    await session.ensureOpen();
    await session.flush();
    for (const stored of await this.#options.storedChats(ctx.instance.id)) {
      if (stored.altId) session.identity.linkPair(stored.id, stored.altId);
      session.chats.upsert(stored.id, stored.name);
    }
    session.chats.rekey();
    const chats = session.listChats();
    const warnings =
      chats.length === 0
        ? ['the phone has not pushed any history yet: no chats are known to this session']
        : [];
    return { chats, warnings };
  }

  isChatId(id: string): boolean {
    return isChatJid(id);
  }

  fetchHistory(ctx: PluginContext, params: FetchHistoryParams): AsyncIterable<HistoryBatch> {
    return fetchWhatsAppHistory(ctx, this.#session(ctx.instance.id), params, this.#options.historyPageSize);
  }

  async *fetchContacts(
    ctx: PluginContext,
    params: PageParams,
  ): AsyncIterable<DirectoryPage<NormalizedContact>> {
    const session = this.#session(ctx.instance.id);
    await session.ensureOpen();
    await session.flush();
    const contacts = [...session.contacts.values()].sort((a, b) => a.externalId.localeCompare(b.externalId));
    // Only the phone's push after linking carries the whole address book; a session resumed from
    // stored credentials knows the contacts seen since, so the listing must not mark others absent.
    const warnings = session.contactsComplete
      ? []
      : [
          'the address book is not complete in this session (WhatsApp pushes it once, after linking): contacts not seen are kept as they were',
        ];
    for (const page of pages(contacts, this.#options.contactsPageSize, offsetOf(params.cursor))) {
      if (warnings.length > 0 && page.cursor === page.items.length + offsetOf(params.cursor)) {
        page.warnings = warnings;
      }
      if (this.#options.contactAvatars) {
        const socket = await session.ensureOpen();
        for (const contact of page.items) {
          if (contact.avatarUrl) continue;
          contact.avatarUrl = await ctx.request('contacts', () =>
            socket.profilePictureUrl(contact.externalId, 'preview').then(
              (url) => url ?? null,
              (error: unknown) => {
                // No picture or hidden by privacy settings is an answer; a refusal is retried.
                if (isRateOverlimit(error)) throw translateSocketError(error, 'the avatar lookup');
                return null;
              },
            ),
          );
        }
      }
      yield page;
    }
  }

  async *fetchGroups(ctx: PluginContext, params: PageParams): AsyncIterable<DirectoryPage<NormalizedGroup>> {
    const session = this.#session(ctx.instance.id);
    const socket = await session.ensureOpen();
    const all = await ctx.request('contacts', () =>
      socket.groupFetchAllParticipating().catch((error: unknown) => {
        throw translateSocketError(error, 'the group listing');
      }),
    );
    const groups = Object.values(all)
      .map((g) => normalizeGroup(g, session.identity))
      .sort((a, b) => a.externalId.localeCompare(b.externalId));
    for (const g of groups) session.chats.upsert(g.externalId, g.name);
    yield* pages(groups, this.#options.groupsPageSize, offsetOf(params.cursor));
  }

  downloadMedia(
    ctx: PluginContext,
    media: MediaDescriptor,
    _message: NormalizedMessage,
  ): Promise<ReadableStream<Uint8Array>> {
    const session = this.#session(ctx.instance.id);
    return downloadWhatsAppMedia(ctx, () => session.ensureOpen(), media, this.#options.mediaHosts);
  }

  async connect(instanceId: InstanceId): Promise<WhatsAppConnectionState> {
    const session = this.#session(instanceId);
    await session.start();
    return session.settled(this.#options.openTimeoutMs);
  }

  connectionState(instanceId: InstanceId): WhatsAppConnectionState {
    return this.#session(instanceId).state;
  }

  currentQr(instanceId: InstanceId): WhatsAppQrCode | null {
    const state = this.#sessions.get(instanceId)?.state;
    return state?.status === 'qr' ? state.qr : null;
  }

  requestPairingCode(instanceId: InstanceId, phoneNumber: string): Promise<WhatsAppPairingCode> {
    return this.#session(instanceId).requestPairingCode(phoneNumber);
  }

  logout(instanceId: InstanceId): Promise<void> {
    return this.#session(instanceId).logout();
  }

  async disconnect(instanceId: InstanceId): Promise<void> {
    await this.#sessions.get(instanceId)?.stop();
  }

  onConnectionChange(listener: (state: WhatsAppConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async flush(instanceId: InstanceId): Promise<void> {
    await this.#sessions.get(instanceId)?.flush();
  }

  onBacklogDelivered(listener: (instanceId: InstanceId) => void): () => void {
    this.#backlogListeners.add(listener);
    return () => this.#backlogListeners.delete(listener);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.stop()));
  }

  #session(instanceId: InstanceId): WhatsAppSession {
    let session = this.#sessions.get(instanceId);
    if (!session) {
      session = new WhatsAppSession(instanceId, this.#options, {
        onState: (state) => {
          for (const listener of this.#listeners) listener(state);
        },
        onHistory: (batch) => this.#deliver(batch),
        onBacklogDelivered: () => {
          for (const listener of this.#backlogListeners) listener(instanceId);
        },
      });
      this.#sessions.set(instanceId, session);
    }
    return session;
  }

  async #deliver(batch: PushedHistory): Promise<void> {
    if (!this.#handler) {
      this.#waitingPushes.push(batch);
      this.#options.log.warn(
        { instanceId: batch.instanceId, syncType: batch.syncType },
        'pushed WhatsApp history held: no history handler registered yet',
      );
      return;
    }
    await this.#drainHeld();
    await this.#handler(batch);
  }

  async #drainHeld(): Promise<void> {
    while (this.#handler && this.#waitingPushes.length > 0) {
      const held = this.#waitingPushes.shift();
      if (held) await this.#handler(held);
    }
  }
}

/**
 * Creates the WhatsApp (`whatsapp-baileys`) channel plugin. One session per instance, created on
 * first use; sync calls connect lazily with the stored auth state.
 *
 * @example
 * ```ts
 * const plugin = createWhatsAppPlugin({
 *   socketFactory: createBaileysSocketFactory(),
 *   authStore: new PostgresAuthStateStore(db, cipher),
 * });
 * plugin.setHistoryHandler((batch) => ingestor.ingest(batch));
 * await plugin.connect(instanceId); // → { status: 'qr', qr: { dataUrl, expiresAt } } until linked
 * ```
 */
export function createWhatsAppPlugin(options: WhatsAppPluginOptions): WhatsAppPlugin {
  return new WhatsAppChannelPlugin(options);
}
