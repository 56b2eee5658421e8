import type { ChannelPlugin } from '@omni/sync-core';

/** The channel plugins this process runs. */
export function loadChannelPlugins(): ChannelPlugin[] {
  return [];
}
