import type { ChannelId, ChannelPlugin } from '@omni/sync-core';

/** Finds the plugin of a channel; `undefined` when the channel is not installed in this process. */
export interface PluginLookup {
  get(channel: ChannelId): ChannelPlugin | undefined;
}

/** A {@link PluginLookup} over a fixed list of plugins. */
export class StaticPluginLookup implements PluginLookup {
  readonly #plugins = new Map<ChannelId, ChannelPlugin>();

  constructor(plugins: readonly ChannelPlugin[] = []) {
    for (const plugin of plugins) this.#plugins.set(plugin.id, plugin);
  }

  get(channel: ChannelId): ChannelPlugin | undefined {
    return this.#plugins.get(channel);
  }
}
