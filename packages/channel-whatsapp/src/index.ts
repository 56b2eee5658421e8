export { IdentityMap, type LidPnPair } from './identity/identity-map.ts';
export { chatKindOf, isGroupJid, isLidJid, isPnJid, normalizeJid, phoneNumberOf } from './identity/jid.ts';
export { bytesToBase64, bytesToHex, toJsonSafe, toNumberOrNull } from './normalize/json-safe.ts';
export {
  MEDIA_CONTENT_TYPES,
  type MediaContentType,
  mediaDescriptorOf,
  type WhatsAppMediaKey,
  whatsAppMediaKeyOf,
} from './normalize/media-descriptor.ts';
export {
  type NormalizeContext,
  normalizeMessage,
  type SelfIdentity,
  textOf,
  unwrapContent,
} from './normalize/normalize-message.ts';
