import type { ChatInfo, InstanceId, LidMapping, Logger } from '@omni/sync-core';
import type { AuthStateStore } from './auth/auth-state-store.ts';
import { WHATSAPP_MEDIA_HOSTS } from './media/media-hosts.ts';
import type { WhatsAppSocketFactory } from './socket/whatsapp-socket.ts';

/** Options of {@link createWhatsAppPlugin}. */
export interface WhatsAppPluginOptions {
  /** Builds the socket of an instance: `createBaileysSocketFactory()` in production, a fake in tests. */
  socketFactory: WhatsAppSocketFactory;
  /** Where creds and signal keys live (encrypted in production). */
  authStore: AuthStateStore;
  /**
   * Chats already stored for an instance (the `chats` table), merged into `listChats` so a sync
   * after a restart or a takeover still knows every chat the phone pushed once. The app wires it to
   * the database (`@omni/runtime`'s `startWhatsApp` does).
   * @defaultValue none
   */
  storedChats?: (instanceId: InstanceId) => Promise<ChatInfo[]>;
  /**
   * LID ↔ phone pairs already stored for an instance (`lid_mappings`), loaded when its session
   * first opens, so a session resumed elsewhere (another process, after a restart) keys chats and
   * senders as before, though WhatsApp pushes the history (and most pairs) only once.
   * @defaultValue none
   */
  storedLidMappings?: (instanceId: InstanceId) => Promise<LidMapping[]>;
  /** Plugin-level logger (sessions log with `instanceId`). @defaultValue a silent logger */
  log?: Logger;
  /** Messages asked per on-demand history request (`fetchMessageHistory` count). @defaultValue 50 */
  historyPageSize?: number;
  /** How long to wait for the phone's answer to one history request, ms. @defaultValue 60_000 */
  onDemandTimeoutMs?: number;
  /** How long a sync call waits for the socket to open, ms. @defaultValue 30_000 */
  openTimeoutMs?: number;
  /** First reconnect delay, ms (doubles per attempt, ±20 % jitter). @defaultValue 1_000 */
  reconnectBaseMs?: number;
  /** Largest reconnect delay, ms. @defaultValue 60_000 */
  reconnectMaxMs?: number;
  /** Reconnect attempts before the session is left `closed`. @defaultValue 10 */
  maxReconnectAttempts?: number;
  /** Validity of the first QR of a link attempt, ms (WhatsApp rotates it). @defaultValue 60_000 */
  firstQrTtlMs?: number;
  /** Validity of each following QR, ms. @defaultValue 20_000 */
  qrTtlMs?: number;
  /** Validity announced for a pairing code, ms. @defaultValue 180_000 */
  pairingCodeTtlMs?: number;
  /**
   * Delay before handing a pushed chunk to the history handler again after it failed, ms (doubles
   * per attempt up to `pushRetryMaxMs`). A chunk is retried until the handler accepts it — WhatsApp
   * pushes it only once — or the session stops (then it is tried once more). @defaultValue 500
   */
  pushRetryBaseMs?: number;
  /** Longest delay between two attempts to hand over a pushed chunk, ms. @defaultValue 30_000 */
  pushRetryMaxMs?: number;
  /**
   * Look up each contact's avatar URL during `fetchContacts` (one `profilePictureUrl` request per
   * contact, paced as `contacts` requests — slow for big address books). @defaultValue false
   */
  contactAvatars?: boolean;
  /**
   * Hand messages that arrive while connected (`messages.upsert`) to the history handler too, as
   * `PushedHistory` with syncType `LIVE`, so the history stays complete between syncs (WhatsApp can
   * only page backwards from a stored message). @defaultValue true
   */
  pushLiveMessages?: boolean;
  /** Contacts per `fetchContacts` page. @defaultValue 500 */
  contactsPageSize?: number;
  /** Groups per `fetchGroups` page. @defaultValue 100 */
  groupsPageSize?: number;
  /** Keep the JSON-safe Baileys payload in `NormalizedMessage.raw`. @defaultValue true */
  includeRaw?: boolean;
  /**
   * Hosts media is downloaded from (exact names or `*.suffix`), checked by the engine's media
   * fetcher with every other rule (https, public addresses, redirects, time, size). A contact
   * chooses the URL of the media it sends: anything else is refused and counted as `host`.
   * @defaultValue WHATSAPP_MEDIA_HOSTS (`mmg.whatsapp.net`, `*.whatsapp.net`)
   */
  mediaHosts?: readonly string[];
}

/** A logger that drops everything. */
export const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Defaults of every optional {@link WhatsAppPluginOptions} field. */
export const DEFAULT_WHATSAPP_PLUGIN_OPTIONS = {
  storedChats: async () => [],
  storedLidMappings: async () => [],
  log: SILENT_LOGGER,
  historyPageSize: 50,
  onDemandTimeoutMs: 60_000,
  openTimeoutMs: 30_000,
  reconnectBaseMs: 1_000,
  reconnectMaxMs: 60_000,
  maxReconnectAttempts: 10,
  firstQrTtlMs: 60_000,
  qrTtlMs: 20_000,
  pairingCodeTtlMs: 180_000,
  pushRetryBaseMs: 500,
  pushRetryMaxMs: 30_000,
  contactAvatars: false,
  pushLiveMessages: true,
  contactsPageSize: 500,
  groupsPageSize: 100,
  includeRaw: true,
  mediaHosts: WHATSAPP_MEDIA_HOSTS,
} satisfies Required<Omit<WhatsAppPluginOptions, 'socketFactory' | 'authStore'>>;

/** Options with every default applied. */
export type ResolvedWhatsAppPluginOptions = Required<WhatsAppPluginOptions>;
