import { createDiscordPlugin } from '@omni/channel-discord';
import type { ChannelPlugin } from '@omni/sync-core';

/**
 * The channel plugins a process runs. Discord talks to `DISCORD_API_URL` (default Discord's own
 * API). WhatsApp needs a socket per linked phone and comes with its linking routes.
 */
export function loadChannelPlugins(): ChannelPlugin[] {
  return [createDiscordPlugin()];
}
