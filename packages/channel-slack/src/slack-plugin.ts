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
  type HistoryPacing,
  type HistoryPacingSource,
  type HistoryProbe,
  type HistoryProbeParams,
  type HistoryProbeSource,
  type MediaDescriptor,
  type MediaSource,
  MemoryBudgetStore,
  type NormalizedContact,
  type NormalizedGroup,
  type PageParams,
  PermanentError,
  type PluginContext,
  type RateBudget,
  type SettingsConsumer,
  SharedRateBudget,
} from '@omni/sync-core';
import { downloadSlackMedia } from './download-media.ts';
import { fetchSlackHistory } from './fetch-history.ts';
import { listSlackChats } from './list-chats.ts';
import { probeSlackHistory } from './probe-history.ts';
import { SlackApiClient, type SlackRequestStats } from './slack-api-client.ts';
import { fetchSlackContacts, fetchSlackGroups } from './slack-directory.ts';
import {
  resolveSlackPluginOptions,
  type SlackAppTier,
  type SlackPluginOptions,
} from './slack-plugin-options.ts';
import { methodPerMinute, pageSizeFor } from './slack-tiers.ts';

/**
 * Slack's capabilities: every part, history on demand, no media decryption. The default rates are
 * the engine's ceilings per instance (history + replies together, Tier 3 each; directory calls);
 * the plugin holds every method to its own tier per workspace.
 */
export const SLACK_CAPABILITIES = {
  parts: ['profile', 'messages', 'contacts', 'groups'],
  onDemandHistory: true,
  mediaNeedsDecryption: false,
  defaultRateLimits: { messagesPerMinute: 100, contactsPerMinute: 100 },
} as const satisfies ChannelCapabilities;

interface BotInfo {
  bot?: { name?: string; app_id?: string; icons?: Record<string, string> };
}
interface UserInfo {
  user?: {
    real_name?: string;
    name?: string;
    profile?: { real_name?: string; image_192?: string; title?: string };
  };
}
interface TeamInfo {
  team?: { id?: string; name?: string; domain?: string; icon?: Record<string, unknown> };
}

/** Slack conversation ids: `C…` public, `G…` private or group DM, `D…` DM (upper-case base-36). */
const CONVERSATION_ID = /^[CDG][A-Z0-9]{6,20}$/;

/**
 * The Slack channel: the Web API through `@slack/web-api` with a bot (`xoxb-`) or user (`xoxp-`)
 * token from `ctx.instance.credentials.token`. One client per token; one pacing window per
 * (workspace, method) shared by every token of the workspace, sized by the app's tier.
 */
export class SlackPlugin
  implements
    ChannelPlugin,
    MediaSource,
    ContactsSource,
    GroupsSource,
    SettingsConsumer,
    ChatIdValidator,
    HistoryPacingSource,
    HistoryProbeSource
{
  readonly id = 'slack' as const;
  readonly capabilities: ChannelCapabilities = SLACK_CAPABILITIES;
  readonly options: SlackPluginOptions;
  /** One client per budget and token (the budget is the engine's, shared by every process). */
  readonly #clients = new WeakMap<RateBudget, Map<string, SlackApiClient>>();
  /** The client each instance last used. */
  readonly #byInstance = new Map<string, SlackApiClient>();
  /** The budget of contexts that bring none (the plugin used without the engine): this process only. */
  readonly #ownBudget: RateBudget = new SharedRateBudget(new MemoryBudgetStore());
  #settings: Parameters<SettingsConsumer['useSettings']>[0] | null = null;

  constructor(options: Partial<SlackPluginOptions> = {}) {
    this.options = resolveSlackPluginOptions(options);
  }

  /** A Slack chat id is a conversation id (`C…`, `G…`, `D…`). */
  isChatId(id: string): boolean {
    return CONVERSATION_ID.test(id);
  }

  /** The client of an instance's token (created on first use; a new token, a new client). */
  client(ctx: PluginContext): SlackApiClient {
    const token = ctx.instance.credentials?.token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthError(`instance ${ctx.instance.id} has no Slack token (credentials.token)`);
    }
    const budget = ctx.budget ?? this.#ownBudget;
    let clients = this.#clients.get(budget);
    if (!clients) {
      clients = new Map();
      this.#clients.set(budget, clients);
    }
    let client = clients.get(token);
    if (!client) {
      client = new SlackApiClient(token, this.options, budget);
      clients.set(token, client);
    }
    this.#byInstance.set(ctx.instance.id, client);
    return client;
  }

  /** Reads `sync.slack.appTier` from these settings from now on (unless `options.appTier` is set). */
  useSettings(settings: Parameters<SettingsConsumer['useSettings']>[0]): void {
    this.#settings = settings;
  }

  /** The app's tier as configured now: the option, else the setting, else `internal`. */
  async appTier(): Promise<SlackAppTier> {
    if (this.options.appTier) return this.options.appTier;
    return this.#settings ? await this.#settings.get('sync.slack.appTier') : 'internal';
  }

  /**
   * History pages and pace under the app's tier now, for plans: `conversations.history` at its
   * tier's rate (Tier 3, 50/min; 1/min for an unlisted app) and page size (15 for an unlisted app).
   */
  async historyPacing(): Promise<HistoryPacing> {
    const tier = await this.appTier();
    const pageSize = pageSizeFor('conversations.history', tier, this.options.historyPageSize);
    const requestsPerMinute = methodPerMinute('conversations.history', tier);
    return {
      pageSize,
      requestsPerMinute,
      reason: `Slack ${tier} app: conversations.history at ${requestsPerMinute}/min, ${pageSize} messages a page`,
    };
  }

  /** Request counters of an instance's token (shared by instances with the same token). */
  stats(instanceId: string): SlackRequestStats | null {
    return this.#byInstance.get(instanceId)?.stats ?? null;
  }

  /** The bot (or user) name and icon, the workspace, scopes and app tier. */
  async getProfile(ctx: PluginContext): Promise<ChannelProfile> {
    const api = this.client(ctx);
    const tier = await this.appTier();
    const auth = await ctx.request('profile', () => api.auth(ctx.signal));
    const optional = async <T>(fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await ctx.request('profile', fn);
      } catch (error) {
        if (error instanceof PermanentError) return null;
        throw error;
      }
    };
    const team = await optional(() => api.call<TeamInfo>('team.info', {}, tier, ctx.signal));
    let name: string | null = auth.user || null;
    let avatarUrl: string | null = null;
    let appId: string | null = null;
    if (auth.botId) {
      const bot = await optional(() => api.call<BotInfo>('bots.info', { bot: auth.botId }, tier, ctx.signal));
      name = bot?.bot?.name || name;
      avatarUrl = bot?.bot?.icons?.image_72 ?? bot?.bot?.icons?.image_48 ?? null;
      appId = bot?.bot?.app_id ?? null;
    } else {
      const user = await optional(() =>
        api.call<UserInfo>('users.info', { user: auth.userId }, tier, ctx.signal),
      );
      name = user?.user?.profile?.real_name || user?.user?.real_name || name;
      avatarUrl = user?.user?.profile?.image_192 ?? null;
    }
    const icon = team?.team?.icon?.image_132;
    return {
      name,
      avatarUrl,
      bio: null,
      ownerIdentifier: auth.userId || null,
      platformMetadata: {
        teamId: auth.teamId,
        team: team?.team?.name ?? auth.team,
        teamDomain: team?.team?.domain ?? null,
        teamIcon: typeof icon === 'string' ? icon : null,
        url: auth.url,
        userId: auth.userId,
        user: auth.user,
        botId: auth.botId,
        appId,
        isBot: auth.botId !== null,
        isEnterpriseInstall: auth.isEnterpriseInstall,
        scopes: auth.scopes,
        appTier: tier,
      },
    };
  }

  /** See {@link listSlackChats}. */
  async listChats(ctx: PluginContext): Promise<ChatListing> {
    return listSlackChats(ctx, this.client(ctx), this.options, await this.appTier());
  }

  /** See {@link fetchSlackHistory}. */
  async *fetchHistory(ctx: PluginContext, params: FetchHistoryParams): AsyncGenerator<HistoryBatch> {
    if (!this.isChatId(params.chatId)) {
      throw new PermanentError(`not a Slack conversation id: ${JSON.stringify(params.chatId)}`);
    }
    yield* fetchSlackHistory(ctx, this.client(ctx), this.options, await this.appTier(), params);
  }

  /** See {@link probeSlackHistory}. */
  async probeHistory(ctx: PluginContext, params: HistoryProbeParams): Promise<HistoryProbe> {
    if (!this.isChatId(params.chatId)) {
      throw new PermanentError(`not a Slack conversation id: ${JSON.stringify(params.chatId)}`);
    }
    return probeSlackHistory(ctx, this.client(ctx), this.options, await this.appTier(), params);
  }

  /** See {@link fetchSlackContacts}. */
  async *fetchContacts(
    ctx: PluginContext,
    params: PageParams,
  ): AsyncGenerator<DirectoryPage<NormalizedContact>> {
    yield* fetchSlackContacts(ctx, this.client(ctx), this.options, await this.appTier(), params);
  }

  /** See {@link fetchSlackGroups}. */
  async *fetchGroups(ctx: PluginContext, params: PageParams): AsyncGenerator<DirectoryPage<NormalizedGroup>> {
    yield* fetchSlackGroups(ctx, this.client(ctx), this.options, await this.appTier(), params);
  }

  /** See {@link downloadSlackMedia}. */
  downloadMedia(ctx: PluginContext, media: MediaDescriptor): Promise<ReadableStream<Uint8Array>> {
    return downloadSlackMedia(ctx, this.client(ctx), this.options, media);
  }
}

/** Creates the Slack plugin. */
export function createSlackPlugin(options: Partial<SlackPluginOptions> = {}): SlackPlugin {
  return new SlackPlugin(options);
}
