import type { SettingsService } from '@omni/db';
import type { MediaFetchInit } from '../media/media-fetcher.ts';
import type { RateBudget } from '../rate-limit/rate-budget.ts';
import type { ChatId, ExternalUserId, InstanceId, JsonValue } from './ids.ts';
import type { MediaDescriptor, NormalizedMessage } from './normalized-message.ts';
import type { ChannelProfile } from './profile.ts';

/** Every channel id, as Omni's SDK names them; a new channel adds itself here. */
export const CHANNEL_IDS = ['discord', 'whatsapp-baileys', 'slack'] as const;

/** Channel ids as Omni's SDK names them. */
export type ChannelId = (typeof CHANNEL_IDS)[number];

/** The parts a sync can cover. */
export type SyncPart = 'profile' | 'messages' | 'contacts' | 'groups';

/** Kinds of platform request, each with its own token bucket per instance. */
export type RequestKind = 'messages' | 'contacts' | 'profile' | 'media';

/** Static facts about a channel, read before any call. */
export interface ChannelCapabilities {
  /** Parts this channel can sync. */
  parts: readonly SyncPart[];
  /** History can be paged further back on demand (Discord: yes; WhatsApp: via the phone). */
  onDemandHistory: boolean;
  /** Media bytes must be decrypted after download (WhatsApp). */
  mediaNeedsDecryption: boolean;
  /** The platform's own documented limits, used when settings say nothing. Requests per minute. */
  defaultRateLimits: { messagesPerMinute: number; contactsPerMinute: number };
  /**
   * Where `fetchHistory` can start paging, which decides which gaps of the coverage ledger the
   * engine asks for. `'time'`: from any `until` (Discord's `before`), so every gap can be fetched,
   * the newest too. `'stored-message'`: only backwards from a stored message (`params.anchor`,
   * WhatsApp's `fetchMessageHistory`); what is newer than everything stored cannot be asked for —
   * it arrives pushed (live, or the platform's offline queue on reconnect) — so the engine does not
   * ask for such a gap.
   * @defaultValue 'time'
   */
  historyPaging?: 'time' | 'stored-message';
}

/** The instance a call is about, with its decrypted credentials. */
export interface InstanceRef {
  id: InstanceId;
  name: string;
  channel: ChannelId;
  /** Decrypted credentials (`{ token }` for Discord); `null` when not connected. */
  credentials: Record<string, JsonValue> | null;
  ownerIdentifier: string | null;
}

/** Minimal structured logger (pino-compatible). */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/**
 * What the engine hands a plugin for every call. Every platform request goes through `request`,
 * which waits for a token of the instance's bucket for `kind`, and on a `RateLimitedError`
 * cools down (Retry-After, else 60 s doubling with jitter) and runs `fn` again — the page is
 * retried, never skipped.
 */
export interface PluginContext {
  instance: InstanceRef;
  /** Aborted when the job is cancelled or the process shuts down. */
  signal: AbortSignal;
  request<T>(kind: RequestKind, fn: () => Promise<T>): Promise<T>;
  /**
   * Fetches media bytes through the engine's one `MediaFetcher` (DESIGN.md invariant 11): https
   * only, hosts on `init.allowedHosts`, public addresses only (also after each of at most 3
   * redirects), connect/idle timeouts, the `media.downloadTimeoutSeconds` deadline and the size
   * cap while the body streams. Aborted with this context's `signal` (and `init.signal`).
   * Refusals are `MediaRefusedError`s, which the engine counts in `progress.mediaSkipReasons`.
   * A plugin's `downloadMedia` never fetches media any other way.
   */
  fetchMedia(url: string, init: MediaFetchInit): Promise<Response>;
  log: Logger;
  /**
   * The engine's shared rate budget (one per platform identity, fleet-wide), for a plugin that
   * paces finer limits itself (Discord's route windows, Slack's per-method tiers). Waits taken
   * inside `request` are reported to the job. Absent when the plugin runs without the engine.
   */
  budget?: RateBudget;
}

/** A conversation history can be fetched for. */
export interface ChatInfo {
  id: ChatId;
  name: string | null;
  /** dm | group | channel | announcement | thread | forum-post | broadcast */
  kind: string;
  /** Parent channel / guild id, when the platform nests chats. */
  parentId?: string | null;
  /** Other platform id of the same chat (WhatsApp phone JID of a LID chat). */
  altId?: string | null;
  /** `false` when the account cannot read it; `reason` then says why (reported, never dropped). */
  readable: boolean;
  reason?: string;
  metadata?: Record<string, JsonValue>;
}

/** Result of {@link ChannelPlugin.listChats}. */
export interface ChatListing {
  chats: ChatInfo[];
  /** Facts the job must report, e.g. "Message Content intent not granted: texts will be empty". */
  warnings: string[];
}

/** Parameters of {@link ChannelPlugin.fetchHistory}. Times are UTC ms. */
export interface FetchHistoryParams {
  chatId: ChatId;
  /** Oldest time wanted (inclusive); `null` = to the first message ("all"). */
  since: number | null;
  /** Newest time wanted (exclusive); usually the job's start time. */
  until: number;
  /** Cursor of the last stored batch, or `null` to start at `until`. */
  cursor: JsonValue | null;
  /**
   * The oldest message of this chat already stored (from any source) at or after `since` (any, when
   * `since` is null), when there is one. Platforms that page backwards from a known message
   * (WhatsApp `fetchMessageHistory`, `capabilities.historyPaging: 'stored-message'`) start from it.
   * The engine asks only for the parts of a chat its coverage ledger lacks, so `since`/`until` may
   * be a gap inside the chat's history, not only the job's window.
   */
  anchor?: StoredMessageRef | null;
}

/** A message already in the database, as {@link FetchHistoryParams.anchor} describes it. */
export interface StoredMessageRef {
  externalId: string;
  /** UTC ms. */
  timestamp: number;
  senderId: string | null;
  /** The platform payload stored with it. */
  raw: JsonValue;
}

/**
 * One page of history. Batches of one `fetchHistory` call go from newest to oldest; messages
 * within a batch are sorted oldest-first. Storing a batch and then its `cursor` must be enough to
 * resume exactly after it.
 *
 * Threads the platform serves only per root (Slack's `conversations.replies`): a thread's replies
 * come in the root's batch or in the batches right after it, each with `replyToId` = the root, and
 * may be newer than the batches before (a reply is as new as it is); the newest-to-oldest order is
 * that of the messages outside threads. A thread is part of the window when its root is: replies
 * up to `until`.
 */
export interface HistoryBatch {
  messages: NormalizedMessage[];
  /** Opaque, JSON-safe; passed back as `FetchHistoryParams.cursor` to continue after this batch. */
  cursor: JsonValue;
  /** More batches follow in this direction. */
  hasMore: boolean;
  /**
   * Set on the last batch when the platform has nothing older (the chat's history begins after
   * `since`, or the phone returned nothing more). The engine marks the chat exhausted.
   */
  exhausted?: boolean;
}

/** Parameters of paged directory calls. */
export interface PageParams {
  cursor: JsonValue | null;
}

/** A person known to the account. */
export interface NormalizedContact {
  externalId: ExternalUserId;
  name: string | null;
  pushName?: string | null;
  verifiedName?: string | null;
  phoneNumber?: string | null;
  lid?: string | null;
  avatarUrl?: string | null;
  metadata: Record<string, JsonValue>;
}

/** A member of a group. */
export interface NormalizedParticipant {
  id: string;
  /** member | admin | superadmin | owner */
  role: string;
}

/** A group, guild or community. */
export interface NormalizedGroup {
  externalId: string;
  name: string | null;
  description: string | null;
  memberCount: number | null;
  participants?: NormalizedParticipant[];
  metadata: Record<string, JsonValue>;
}

/** A page of a directory listing. */
export interface DirectoryPage<T> {
  items: T[];
  cursor: JsonValue;
  hasMore: boolean;
  /** Facts the job must report (e.g. "Server Members intent missing for guild X"). */
  warnings?: string[];
}

/**
 * A channel. Small on purpose: optional powers are the separate interfaces below, checked with
 * the `has…` guards, never discovered by try/catch.
 *
 * Lifecycle: the engine calls methods concurrently for different instances and chats; a plugin
 * keeps per-instance state keyed by `ctx.instance.id`.
 */
export interface ChannelPlugin {
  readonly id: ChannelId;
  readonly capabilities: ChannelCapabilities;
  /** The account's profile. */
  getProfile(ctx: PluginContext): Promise<ChannelProfile>;
  /** Conversations history can be fetched for, including unreadable ones with a reason. */
  listChats(ctx: PluginContext): Promise<ChatListing>;
  /**
   * History of one chat from `until` (or the cursor) back to `since`, as batches. The engine reads
   * one batch ahead: it asks for the next batch while it stores the one before, so a plugin must
   * not assume a batch is stored when the next is asked for (its own cursor carries the paging).
   */
  fetchHistory(ctx: PluginContext, params: FetchHistoryParams): AsyncIterable<HistoryBatch>;
}

/** A plugin that can list contacts. */
export interface ContactsSource {
  fetchContacts(ctx: PluginContext, params: PageParams): AsyncIterable<DirectoryPage<NormalizedContact>>;
}

/** A plugin that can list groups. */
export interface GroupsSource {
  fetchGroups(ctx: PluginContext, params: PageParams): AsyncIterable<DirectoryPage<NormalizedGroup>>;
}

/** A plugin that can download media bytes (decrypted where the platform encrypts). */
export interface MediaSource {
  downloadMedia(
    ctx: PluginContext,
    media: MediaDescriptor,
    message: NormalizedMessage,
  ): Promise<ReadableStream<Uint8Array>>;
}

/**
 * One WhatsApp LID ↔ phone-number pair, both as normalized JIDs (`123@lid`,
 * `15550001111@s.whatsapp.net`). Stored in `lid_mappings`, one phone number per LID.
 */
export interface LidMapping {
  lid: string;
  pn: string;
}

/**
 * History the platform pushes by itself (WhatsApp's `messaging-history.set` after linking).
 * Everything in it is stored as it arrives, idempotently (chunks can repeat).
 */
export interface PushedHistory {
  instanceId: InstanceId;
  /** Platform name of the chunk kind (INITIAL_BOOTSTRAP, RECENT, FULL, ON_DEMAND, PUSH_NAME…). */
  syncType: string;
  messages: NormalizedMessage[];
  chats: ChatInfo[];
  contacts: NormalizedContact[];
  /** Platform's own progress figure for the whole push, 0–100, when given. */
  progress?: number | null;
  /** True on the last chunk of the push. */
  isLatest?: boolean;
  /**
   * LID ↔ phone-number pairs learnt (new or changed) since the previous chunk, from this chunk or
   * from events between chunks (WhatsApp's `lidPnMappings`, `lid-mapping.update`, `…Alt` ids). A
   * chunk may carry only these.
   */
  lidMappings?: LidMapping[];
  /**
   * On messages received live (`syncType` `LIVE`: WhatsApp `messages.upsert` of type `notify`):
   * since when (UTC ms) the connection that received them has been open without a break, so that
   * every message newer than it reached this handler. A chat whose covered history reaches that
   * time is then covered up to these messages, with the edge `live`.
   */
  liveSince?: number;
}

/** A plugin whose platform pushes history without being asked. */
export interface HistoryPushSource {
  /** Registers the one handler the plugin awaits for every pushed chunk (back-pressure). */
  setHistoryHandler(handler: (batch: PushedHistory) => Promise<void>): void;
}

/**
 * A plugin whose behaviour follows settings (Slack: `sync.slack.appTier` picks its rate profile).
 * The process hands it the settings once they exist; it reads them when it needs them, so a change
 * over the API applies to the next call.
 */
export interface SettingsConsumer {
  useSettings(settings: Pick<SettingsService, 'get'>): void;
}

/**
 * A plugin that can say how its history is paged and paced right now, for plans and ETAs, where
 * the platform's own limits bind tighter than the engine's budget or its page is not a fixed size
 * (Slack: an unlisted app gets 1 history request a minute and 15 messages a page).
 */
export interface HistoryPacingSource {
  /** Messages per history page and history requests per minute the platform allows this plugin now. */
  historyPacing(): Promise<HistoryPacing>;
}

/** Answer of {@link HistoryPacingSource.historyPacing}. */
export interface HistoryPacing {
  /** Messages one history request returns at most. */
  pageSize: number;
  /** History requests per minute the platform allows (per chat where it limits per chat). */
  requestsPerMinute: number;
  /** Why, in words a user can read (e.g. "Slack unlisted app: 1 request/min, 15 per page"). */
  reason: string;
}

/**
 * A plugin that can look into a chat's history with one cheap request, for plans: where the
 * history inside a window begins, and how many messages the window holds when one page shows them
 * all. The request goes through `ctx.request('messages')` like any page (same budget).
 */
export interface HistoryProbeSource {
  /** One history request about `[since, until)` of a chat; never more than one. */
  probeHistory(ctx: PluginContext, params: HistoryProbeParams): Promise<HistoryProbe>;
}

/** Parameters of {@link HistoryProbeSource.probeHistory}. Times are UTC ms. */
export interface HistoryProbeParams {
  chatId: ChatId;
  /** Oldest time of the window (inclusive); `null` = from the first message. */
  since: number | null;
  /** Newest time of the window (exclusive). */
  until: number;
}

/** What one probe request saw of a window. */
export interface HistoryProbe {
  /**
   * Time of the oldest message in the window, UTC ms, when the probe sees it (Discord pages
   * forward from `since`); `null` when the window holds no message; `undefined` when the probe
   * cannot tell (Slack pages from the newest end).
   */
  oldestAt?: number | null;
  /** Messages of the window the probe saw (replies the page announces included, e.g. Slack `reply_count`). */
  sampled: number;
  /** Span between the oldest and newest message the probe saw, ms (0 for fewer than two). */
  sampleSpanMs: number;
  /** The probe saw every message of the window: `sampled` is the window's exact count. */
  complete: boolean;
}

/** True when `plugin` implements {@link HistoryProbeSource}. */
export function hasHistoryProbe(plugin: ChannelPlugin): plugin is ChannelPlugin & HistoryProbeSource {
  return typeof (plugin as Partial<HistoryProbeSource>).probeHistory === 'function';
}

/** True when `plugin` implements {@link HistoryPacingSource}. */
export function hasHistoryPacing(plugin: ChannelPlugin): plugin is ChannelPlugin & HistoryPacingSource {
  return typeof (plugin as Partial<HistoryPacingSource>).historyPacing === 'function';
}

/** True when `plugin` implements {@link SettingsConsumer}. */
export function hasSettings(plugin: ChannelPlugin): plugin is ChannelPlugin & SettingsConsumer {
  return typeof (plugin as Partial<SettingsConsumer>).useSettings === 'function';
}

/** True when `plugin` implements {@link HistoryPushSource}. */
export function hasHistoryPush(plugin: ChannelPlugin): plugin is ChannelPlugin & HistoryPushSource {
  return typeof (plugin as Partial<HistoryPushSource>).setHistoryHandler === 'function';
}

/** True when `plugin` implements {@link ContactsSource}. */
export function hasContacts(plugin: ChannelPlugin): plugin is ChannelPlugin & ContactsSource {
  return typeof (plugin as Partial<ContactsSource>).fetchContacts === 'function';
}

/** True when `plugin` implements {@link GroupsSource}. */
export function hasGroups(plugin: ChannelPlugin): plugin is ChannelPlugin & GroupsSource {
  return typeof (plugin as Partial<GroupsSource>).fetchGroups === 'function';
}

/**
 * A plugin that knows the form of its chat ids (a Discord snowflake, a WhatsApp JID): the API
 * refuses a chat id of another form (400) before it reaches the platform, and the plugin checks
 * again before building a platform request from one.
 */
export interface ChatIdValidator {
  /** True when `id` has the form of a chat id of this channel. */
  isChatId(id: string): boolean;
}

/** True when `plugin` implements {@link ChatIdValidator}. */
export function validatesChatIds(plugin: ChannelPlugin): plugin is ChannelPlugin & ChatIdValidator {
  return typeof (plugin as Partial<ChatIdValidator>).isChatId === 'function';
}

/** True when `plugin` implements {@link MediaSource}. */
export function hasMedia(plugin: ChannelPlugin): plugin is ChannelPlugin & MediaSource {
  return typeof (plugin as Partial<MediaSource>).downloadMedia === 'function';
}
