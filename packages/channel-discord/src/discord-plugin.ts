import {
  AuthError,
  type ChannelCapabilities,
  type ChannelPlugin,
  type ChannelProfile,
  type ChatIdValidator,
  type ChatListing,
  type ContactsSource,
  type DirectoryPage,
  type FetchHistoryParams,
  type GroupsSource,
  type HistoryBatch,
  type HistoryProbe,
  type HistoryProbeParams,
  type HistoryProbeSource,
  type MediaDescriptor,
  type MediaSource,
  MemoryBudgetStore,
  type NormalizedContact,
  type NormalizedGroup,
  type PageParams,
  type PluginContext,
  type RateBudget,
  SharedRateBudget,
} from '@omni/sync-core';
import type { APIApplication, APIUser } from 'discord-api-types/v10';
import { fetchDiscordContacts, fetchDiscordGroups } from './discord-directory.ts';
import { type DiscordPluginOptions, resolveDiscordPluginOptions } from './discord-plugin-options.ts';
import { type DiscordRequestStats, DiscordRestClient } from './discord-rest-client.ts';
import { downloadDiscordMedia } from './download-media.ts';
import { fetchDiscordHistory } from './fetch-history.ts';
import { listGuilds } from './guild-directory.ts';
import { listDiscordChats } from './list-chats.ts';
import { probeDiscordHistory } from './probe-history.ts';
import { isSnowflake } from './snowflake.ts';

/** Discord's capabilities: every part, history on demand, no media decryption; the seed's limits. */
export const DISCORD_CAPABILITIES = {
  parts: ['profile', 'messages', 'contacts', 'groups'],
  onDemandHistory: true,
  mediaNeedsDecryption: false,
  defaultRateLimits: { messagesPerMinute: 50, contactsPerMinute: 100 },
} as const satisfies ChannelCapabilities;

/**
 * The Discord channel: REST v10 through `@discordjs/rest`, one client (and one set of pacing
 * windows) per instance and token. Credentials come from `ctx.instance.credentials.token`.
 */
export class DiscordPlugin
  implements ChannelPlugin, MediaSource, ContactsSource, GroupsSource, ChatIdValidator, HistoryProbeSource
{
  readonly id = 'discord' as const;
  readonly capabilities: ChannelCapabilities = DISCORD_CAPABILITIES;
  readonly options: DiscordPluginOptions;
  /**
   * One REST client per bot token and budget: Discord's rate limits belong to the token (per
   * route and channel, and globally), so instances that share a token share its pacing — across
   * processes too, through the engine's shared budget (`ctx.budget`).
   */
  readonly #clients = new WeakMap<RateBudget, Map<string, DiscordRestClient>>();
  /** The client each instance last used. */
  readonly #byInstance = new Map<string, DiscordRestClient>();
  /** The budget of contexts that bring none (the plugin used without the engine): this process only. */
  readonly #ownBudget: RateBudget = new SharedRateBudget(new MemoryBudgetStore());

  constructor(options: Partial<DiscordPluginOptions> = {}) {
    this.options = resolveDiscordPluginOptions(options);
  }

  /** A Discord chat id is a snowflake (a channel or thread id). */
  isChatId(id: string): boolean {
    return isSnowflake(id);
  }

  /** The REST client of an instance's bot token (created on first use; a new token, a new client). */
  client(ctx: PluginContext): DiscordRestClient {
    const token = ctx.instance.credentials?.token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthError(`instance ${ctx.instance.id} has no Discord bot token (credentials.token)`);
    }
    const budget = ctx.budget ?? this.#ownBudget;
    let clients = this.#clients.get(budget);
    if (!clients) {
      clients = new Map();
      this.#clients.set(budget, clients);
    }
    let client = clients.get(token);
    if (!client) {
      client = new DiscordRestClient(token, this.options, budget);
      clients.set(token, client);
    }
    this.#byInstance.set(ctx.instance.id, client);
    return client;
  }

  /**
   * Request counters of the client of an instance's token (zeros before its first call); shared
   * by the instances that use the same token in this process.
   */
  stats(instanceId: string): DiscordRequestStats | null {
    return this.#byInstance.get(instanceId)?.stats ?? null;
  }

  /** Bot name, avatar, application description as bio, and the seed's Discord metadata. */
  async getProfile(ctx: PluginContext): Promise<ChannelProfile> {
    const api = this.client(ctx);
    const signal = ctx.signal;
    const me = await ctx.request('profile', () => api.get<APIUser>('/users/@me', { signal }));
    const app = await ctx.request('profile', () =>
      api.get<APIApplication>('/oauth2/applications/@me', { signal }),
    );
    const guilds = await listGuilds(ctx, api, 'profile');
    const avatarUrl = me.avatar
      ? api.rest.cdn.avatar(me.id, me.avatar, { extension: 'png' })
      : api.rest.cdn.defaultAvatar(Number((BigInt(me.id) >> 22n) % 6n));
    return {
      name: me.global_name ?? me.username,
      avatarUrl,
      bio: app.description ? app.description : null,
      ownerIdentifier: me.id,
      platformMetadata: {
        botId: me.id,
        applicationId: app.id,
        discriminator: me.discriminator,
        isBot: me.bot ?? false,
        guildCount: guilds.length,
        flags: app.flags ?? 0,
        username: me.username,
      },
    };
  }

  /** See {@link listDiscordChats}. */
  listChats(ctx: PluginContext): Promise<ChatListing> {
    return listDiscordChats(ctx, this.client(ctx), this.options);
  }

  /** See {@link fetchDiscordHistory}. */
  fetchHistory(ctx: PluginContext, params: FetchHistoryParams): AsyncIterable<HistoryBatch> {
    return fetchDiscordHistory(ctx, this.client(ctx), this.options, params);
  }

  /** See {@link probeDiscordHistory}. */
  probeHistory(ctx: PluginContext, params: HistoryProbeParams): Promise<HistoryProbe> {
    return probeDiscordHistory(ctx, this.client(ctx), this.options, params);
  }

  /** See {@link fetchDiscordContacts}. */
  fetchContacts(ctx: PluginContext, params: PageParams): AsyncIterable<DirectoryPage<NormalizedContact>> {
    return fetchDiscordContacts(ctx, this.client(ctx), this.options, params);
  }

  /** See {@link fetchDiscordGroups}. */
  fetchGroups(ctx: PluginContext, params: PageParams): AsyncIterable<DirectoryPage<NormalizedGroup>> {
    return fetchDiscordGroups(ctx, this.client(ctx), params);
  }

  /** See {@link downloadDiscordMedia}. */
  downloadMedia(ctx: PluginContext, media: MediaDescriptor): Promise<ReadableStream<Uint8Array>> {
    return downloadDiscordMedia(ctx, this.client(ctx), media, this.options.mediaHosts);
  }
}

/** Creates the Discord plugin. */
export function createDiscordPlugin(options: Partial<DiscordPluginOptions> = {}): DiscordPlugin {
  return new DiscordPlugin(options);
}

/** The Discord plugin with default options (`DISCORD_API_URL` read when first created). */
export const discordPlugin: DiscordPlugin = createDiscordPlugin();
