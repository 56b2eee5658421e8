/**
 * What a process needs of the WhatsApp channel without running its sockets — the channel's
 * capabilities and the connection types and guard — and none of Baileys: `@omni/runtime`'s index
 * and the API import this, so a process that holds no WhatsApp session never loads Baileys
 * (tens of MB). The plugin itself comes from the package's main entry.
 */
export {
  hasWhatsAppConnection,
  type WhatsAppConnectionControl,
  type WhatsAppConnectionState,
  type WhatsAppConnectionStatus,
  type WhatsAppPairingCode,
  type WhatsAppQrCode,
} from './connection/connection-state.ts';
export { WHATSAPP_CAPABILITIES } from './whatsapp-capabilities.ts';
