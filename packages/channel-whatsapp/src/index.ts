export { type AuthStateStore, MemoryAuthStateStore } from './auth/auth-state-store.ts';
export { loadStoredAuthState, type StoredAuthState } from './auth/stored-auth-state.ts';
export { type CloseDecision, type CloseFacts, decideOnClose } from './connection/close-policy.ts';
export { renderQrCode } from './connection/qr-code.ts';
export {
  DISCONNECT,
  disconnectStatusOf,
  isLoggedOut,
  reconnectDelayMs,
} from './connection/reconnect-backoff.ts';
export { cursorFromAnchor, type HistoryCursor, parseHistoryCursor } from './history/history-cursor.ts';
export { OnDemandCorrelator } from './history/on-demand-correlator.ts';
export { IdentityMap, type LidPnPair } from './identity/identity-map.ts';
export {
  chatKindOf,
  isChatJid,
  isGroupJid,
  isLidJid,
  isPnJid,
  normalizeJid,
  phoneNumberOf,
} from './identity/jid.ts';
// The Baileys-free part (connection types and guard, capabilities), also `@omni/channel-whatsapp/light`.
export * from './light.ts';
export { mediaUrlOf, messageForMedia, verifySha256 } from './media/download-media.ts';
export { decryptWhatsAppMedia, type WhatsAppMediaKeys } from './media/media-decryptor.ts';
export { WHATSAPP_MEDIA_HOSTS } from './media/media-hosts.ts';
export { bytesToBase64, bytesToHex, toJsonSafe, toNumberOrNull } from './normalize/json-safe.ts';
export {
  MEDIA_CONTENT_TYPES,
  type MediaContentType,
  mediaDescriptorOf,
  type WhatsAppMediaKey,
  whatsAppMediaKeyOf,
} from './normalize/media-descriptor.ts';
export { mergeContact, normalizeContact } from './normalize/normalize-contact.ts';
export { normalizeGroup } from './normalize/normalize-group.ts';
export {
  type NormalizeContext,
  normalizeMessage,
  type SelfIdentity,
  textOf,
  unwrapContent,
} from './normalize/normalize-message.ts';
export {
  type AbsorbedHistory,
  absorbHistory,
  type HistorySetEvent,
  syncTypeName,
} from './session/history-absorber.ts';
export {
  type BaileysLogger,
  type BaileysSocketFactoryOptions,
  baileysLogger,
  createBaileysSocketFactory,
  DEFAULT_BAILEYS_SOCKET_FACTORY_OPTIONS,
} from './socket/baileys-socket-factory.ts';
export type {
  WhatsAppEventEmitter,
  WhatsAppEventMap,
  WhatsAppSocket,
  WhatsAppSocketFactory,
  WhatsAppSocketFactoryArgs,
  WhatsAppSocketUser,
} from './socket/whatsapp-socket.ts';
export { createWhatsAppPlugin, type WhatsAppPlugin } from './whatsapp-plugin.ts';
export {
  DEFAULT_WHATSAPP_PLUGIN_OPTIONS,
  type ResolvedWhatsAppPluginOptions,
  SILENT_LOGGER,
  type WhatsAppPluginOptions,
} from './whatsapp-plugin-options.ts';
