import type { InstanceId, Logger } from '@omni/sync-core';
import type {
  AuthenticationState,
  BaileysEventMap,
  GroupMetadata,
  USyncQueryResultList,
  WABusinessProfile,
  WAMessage,
  WAMessageKey,
} from '@whiskeysockets/baileys';

/** The Baileys events the plugin listens to. */
export type WhatsAppEventMap = Pick<
  BaileysEventMap,
  | 'connection.update'
  | 'creds.update'
  | 'messaging-history.set'
  | 'messages.upsert'
  | 'contacts.upsert'
  | 'contacts.update'
  | 'chats.upsert'
  | 'lid-mapping.update'
>;

/** The part of Baileys' `ev` emitter the plugin uses. */
export interface WhatsAppEventEmitter {
  on<E extends keyof WhatsAppEventMap>(event: E, listener: (arg: WhatsAppEventMap[E]) => void): void;
  off<E extends keyof WhatsAppEventMap>(event: E, listener: (arg: WhatsAppEventMap[E]) => void): void;
}

/** The account a socket is logged in as. */
export interface WhatsAppSocketUser {
  id: string;
  lid?: string | undefined;
  name?: string | undefined;
  notify?: string | undefined;
  verifiedName?: string | undefined;
}

/**
 * Exactly the surface of a Baileys socket (`makeWASocket`) the plugin uses. The real socket
 * satisfies it structurally; `@omni/testkit/whatsapp` provides a fake that does too.
 */
export interface WhatsAppSocket {
  /** Set once the connection is open. */
  user?: WhatsAppSocketUser | undefined;
  ev: WhatsAppEventEmitter;
  /**
   * Asks the phone for `count` messages older than `oldestMsgKey`; resolves with the request's
   * message id, which the phone echoes as the ON_DEMAND chunk's `peerDataRequestSessionId`.
   * `oldestMsgTimestamp` is in milliseconds.
   */
  fetchMessageHistory(count: number, oldestMsgKey: WAMessageKey, oldestMsgTimestamp: number): Promise<string>;
  profilePictureUrl(jid: string, type?: 'preview' | 'image', timeoutMs?: number): Promise<string | undefined>;
  fetchStatus(...jids: string[]): Promise<USyncQueryResultList[] | undefined>;
  // biome-ignore lint/suspicious/noConfusingVoidType: Baileys' own signature
  getBusinessProfile(jid: string): Promise<WABusinessProfile | void>;
  /** Asks the phone to re-upload expired media; resolves with the message carrying the new path. */
  updateMediaMessage(message: WAMessage): Promise<WAMessage>;
  groupFetchAllParticipating(): Promise<{ [jid: string]: GroupMetadata }>;
  requestPairingCode(phoneNumber: string): Promise<string>;
  logout(msg?: string): Promise<void>;
  end(error: Error | undefined): void;
  signalRepository: {
    lidMapping: {
      getPNForLID(lid: string): Promise<string | null>;
    };
  };
}

/** What a {@link WhatsAppSocketFactory} gets to build one socket. */
export interface WhatsAppSocketFactoryArgs {
  instanceId: InstanceId;
  /** Baileys auth state backed by the plugin's `AuthStateStore`. */
  auth: AuthenticationState;
  /** Always `() => true`: every history chunk, FULL included, is kept. */
  shouldSyncHistoryMessage: () => boolean;
  log: Logger;
}

/** Builds a socket for one instance: `makeWASocket` in production, a fake in tests. */
export type WhatsAppSocketFactory = (
  args: WhatsAppSocketFactoryArgs,
) => WhatsAppSocket | Promise<WhatsAppSocket>;
