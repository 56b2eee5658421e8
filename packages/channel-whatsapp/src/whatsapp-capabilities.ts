import type { ChannelCapabilities } from '@omni/sync-core';

/** Capabilities of the WhatsApp channel. */
export const WHATSAPP_CAPABILITIES: ChannelCapabilities = {
  parts: ['profile', 'messages', 'contacts', 'groups'],
  onDemandHistory: true,
  mediaNeedsDecryption: true,
  defaultRateLimits: { messagesPerMinute: 30, contactsPerMinute: 60 },
  // The phone pages only backwards from a stored message; newer ones arrive pushed (live while
  // connected, WhatsApp's offline queue on reconnect), so the newest gap is not asked for.
  historyPaging: 'stored-message',
};
