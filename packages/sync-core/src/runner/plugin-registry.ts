import type { ChannelId, ChannelPlugin } from '../contract/channel-plugin.ts';
import { PluginNotFoundError } from '../errors/plugin-not-found-error.ts';

/**
 * Channel id → plugin. The runner looks up the plugin of each job's instance here.
 *
 * @example
 * ```ts
 * const plugins = new PluginRegistry().register(discordPlugin).register(whatsappPlugin);
 * plugins.get('discord');
 * ```
 */
export class PluginRegistry {
  readonly #plugins = new Map<ChannelId, ChannelPlugin>();

  constructor(plugins: readonly ChannelPlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  /** Adds (or replaces) the plugin for `plugin.id`; returns the registry for chaining. */
  register(plugin: ChannelPlugin): this {
    this.#plugins.set(plugin.id, plugin);
    return this;
  }

  /** The plugin for a channel, or `PluginNotFoundError`. */
  get(channel: string): ChannelPlugin {
    const plugin = this.#plugins.get(channel as ChannelId);
    if (!plugin) throw new PluginNotFoundError(channel);
    return plugin;
  }

  /** True when a plugin is registered for `channel`. */
  has(channel: string): boolean {
    return this.#plugins.has(channel as ChannelId);
  }

  /** Every registered plugin. */
  list(): ChannelPlugin[] {
    return [...this.#plugins.values()];
  }
}
