import type { Logger } from '@omni/sync-core';
import makeWASocket, {
  Browsers,
  makeCacheableSignalKeyStore,
  type UserFacingSocketConfig,
} from '@whiskeysockets/baileys';
import type { WhatsAppSocket, WhatsAppSocketFactory } from './whatsapp-socket.ts';

/** Baileys' logger shape (`ILogger`, not exported by the package). */
export type BaileysLogger = NonNullable<UserFacingSocketConfig['logger']>;

/** Options of {@link createBaileysSocketFactory}. */
export interface BaileysSocketFactoryOptions {
  /** Browser shown in the phone's linked-devices list. @defaultValue `Browsers.macOS('Desktop')` */
  browser?: [string, string, string];
  /** Ask the phone for the full history on first link. @defaultValue true */
  syncFullHistory?: boolean;
  /** Appear online while connected (suppresses phone notifications). @defaultValue false */
  markOnlineOnConnect?: boolean;
  /** Timeout of socket queries, ms. @defaultValue 60_000 */
  defaultQueryTimeoutMs?: number;
  /** Extra `makeWASocket` options (proxy agent, version…), applied last. @defaultValue {} */
  extra?: Partial<UserFacingSocketConfig>;
}

/** Defaults of {@link BaileysSocketFactoryOptions}. */
export const DEFAULT_BAILEYS_SOCKET_FACTORY_OPTIONS = {
  browser: Browsers.macOS('Desktop'),
  syncFullHistory: true,
  markOnlineOnConnect: false,
  defaultQueryTimeoutMs: 60_000,
  extra: {},
} satisfies Required<BaileysSocketFactoryOptions>;

/** Adapts our pino-compatible logger to Baileys' `ILogger` (Baileys' trace goes to debug). */
export function baileysLogger(log: Logger, bindings: Record<string, unknown> = {}): BaileysLogger {
  const withBindings = (obj: unknown) =>
    typeof obj === 'object' && obj !== null ? { ...bindings, ...obj } : { ...bindings, msg: obj };
  return {
    level: 'debug',
    child: (more: Record<string, unknown>) => baileysLogger(log, { ...bindings, ...more }),
    trace: () => {},
    debug: (obj: unknown, msg?: string) => log.debug(withBindings(obj), msg),
    info: (obj: unknown, msg?: string) => log.debug(withBindings(obj), msg),
    warn: (obj: unknown, msg?: string) => log.warn(withBindings(obj), msg),
    error: (obj: unknown, msg?: string) => log.error(withBindings(obj), msg),
  };
}

/**
 * The production socket factory: Baileys' `makeWASocket` with the plugin's auth state (signal keys
 * cached in memory in front of the store), `shouldSyncHistoryMessage` keeping every chunk (FULL
 * included), and full-history sync asked on link.
 */
export function createBaileysSocketFactory(options: BaileysSocketFactoryOptions = {}): WhatsAppSocketFactory {
  const o = { ...DEFAULT_BAILEYS_SOCKET_FACTORY_OPTIONS, ...options };
  return ({ auth, shouldSyncHistoryMessage, log, instanceId }) => {
    const logger = baileysLogger(log, { instanceId, lib: 'baileys' });
    const socket = makeWASocket({
      auth: { creds: auth.creds, keys: makeCacheableSignalKeyStore(auth.keys, logger) },
      logger,
      browser: o.browser,
      syncFullHistory: o.syncFullHistory,
      markOnlineOnConnect: o.markOnlineOnConnect,
      defaultQueryTimeoutMs: o.defaultQueryTimeoutMs,
      shouldSyncHistoryMessage,
      ...o.extra,
    });
    const surface: WhatsAppSocket = socket;
    return surface;
  };
}
