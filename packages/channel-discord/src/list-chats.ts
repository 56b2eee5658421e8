import {
  type ChatInfo,
  type ChatListing,
  chatId,
  type JsonValue,
  NotFoundError,
  PermanentError,
  type PluginContext,
} from '@omni/sync-core';
import {
  type APIApplication,
  type APIGuildMember,
  type APIThreadChannel,
  type APIUser,
  ApplicationFlags,
  ChannelType,
  PermissionFlagsBits,
  type RESTAPIPartialCurrentUserGuild,
  type RESTGetAPIChannelThreadsArchivedPublicResult,
  type RESTGetAPIGuildChannelsResult,
  type RESTGetAPIGuildThreadsResult,
} from 'discord-api-types/v10';
import type { DiscordPluginOptions } from './discord-plugin-options.ts';
import type { DiscordRestClient } from './discord-rest-client.ts';
import { listGuilds } from './guild-directory.ts';
import { type BotInGuild, channelPermissions, unreadableReason } from './permissions.ts';

/** Channel types whose messages history is fetched directly. */
const HISTORY_CHANNELS = new Set<ChannelType>([ChannelType.GuildText, ChannelType.GuildAnnouncement]);
/** Channel types whose posts (threads) are the chats. */
const FORUM_CHANNELS = new Set<ChannelType>([ChannelType.GuildForum, ChannelType.GuildMedia]);

/** The warning a sync must carry when the Message Content intent is not granted. */
export function messageContentWarning(flags: number): string | null {
  const granted = ApplicationFlags.GatewayMessageContent | ApplicationFlags.GatewayMessageContentLimited;
  return (flags & granted) === 0
    ? 'Message Content intent not granted: Discord returns guild messages with empty content, embeds and attachments (except messages mentioning the bot); stored texts will be empty'
    : null;
}

/**
 * Every guild's text and announcement channels, forum posts, and active and archived threads
 * (public, and private where the bot may list them). Unreadable channels are listed with
 * `readable: false` and the reason.
 */
export async function listDiscordChats(
  ctx: PluginContext,
  api: DiscordRestClient,
  options: DiscordPluginOptions,
): Promise<ChatListing> {
  const signal = ctx.signal;
  const app = await ctx.request('profile', () =>
    api.get<APIApplication>('/oauth2/applications/@me', { signal }),
  );
  const me = await ctx.request('profile', () => api.get<APIUser>('/users/@me', { signal }));
  const warnings: string[] = [];
  const contentWarning = messageContentWarning(app.flags ?? 0);
  if (contentWarning) warnings.push(contentWarning);
  const chats: ChatInfo[] = [];
  for (const guild of await listGuilds(ctx, api, 'messages')) {
    chats.push(...(await listGuildChats(ctx, api, options, guild, me.id, warnings)));
  }
  return { chats, warnings };
}

async function listGuildChats(
  ctx: PluginContext,
  api: DiscordRestClient,
  options: DiscordPluginOptions,
  guild: RESTAPIPartialCurrentUserGuild,
  botId: string,
  warnings: string[],
): Promise<ChatInfo[]> {
  const signal = ctx.signal;
  const channels = await ctx.request('messages', () =>
    api.get<RESTGetAPIGuildChannelsResult>(`/guilds/${guild.id}/channels`, { signal }),
  );
  const member = await ctx
    .request('messages', () => api.get<APIGuildMember>(`/guilds/${guild.id}/members/${botId}`, { signal }))
    .catch((error: unknown) => {
      if (error instanceof PermanentError || error instanceof NotFoundError) return null;
      throw error;
    });
  const bot: BotInGuild = {
    guildId: guild.id,
    botId,
    roleIds: member?.roles ?? [],
    base: BigInt(guild.permissions),
  };
  const out: ChatInfo[] = [];
  const parents = new Map<
    string,
    { channel: RESTGetAPIGuildChannelsResult[number]; perms: bigint; reason: string | null }
  >();
  for (const channel of channels) {
    const isHistory = HISTORY_CHANNELS.has(channel.type);
    if (!isHistory && !FORUM_CHANNELS.has(channel.type)) continue;
    const perms = channelPermissions(bot, channel.permission_overwrites);
    const reason = unreadableReason(perms);
    parents.set(channel.id, { channel, perms, reason });
    if (!isHistory) continue;
    const chat: ChatInfo = {
      id: chatId(channel.id),
      name: channel.name,
      kind: channel.type === ChannelType.GuildAnnouncement ? 'announcement' : 'channel',
      parentId: guild.id,
      readable: reason === null,
      metadata: {
        guildId: guild.id,
        guildName: guild.name,
        channelType: channel.type,
        topic: ('topic' in channel && typeof channel.topic === 'string' ? channel.topic : null) as JsonValue,
        lastMessageId: ('last_message_id' in channel && typeof channel.last_message_id === 'string'
          ? channel.last_message_id
          : null) as JsonValue,
      },
    };
    if (reason) chat.reason = reason;
    out.push(chat);
  }
  const threads = new Map<string, APIThreadChannel>();
  const active = await ctx.request('messages', () =>
    api.get<RESTGetAPIGuildThreadsResult>(`/guilds/${guild.id}/threads/active`, { signal }),
  );
  for (const t of active.threads as APIThreadChannel[]) threads.set(t.id, t);
  let privateWarned = false;
  for (const { channel, perms, reason } of parents.values()) {
    if (reason) continue;
    for (const t of await archivedThreads(ctx, api, channel.id, 'public')) threads.set(t.id, t);
    if (!options.includePrivateThreads || FORUM_CHANNELS.has(channel.type)) continue;
    if ((perms & PermissionFlagsBits.ManageThreads) === 0n) {
      if (!privateWarned)
        warnings.push(
          `Guild ${guild.name}: no MANAGE_THREADS permission, archived private threads are not listed`,
        );
      privateWarned = true;
      continue;
    }
    try {
      for (const t of await archivedThreads(ctx, api, channel.id, 'private')) threads.set(t.id, t);
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      warnings.push(`#${channel.name}: archived private threads refused (${error.message})`);
    }
  }
  for (const t of threads.values()) {
    const parent = t.parent_id ? parents.get(t.parent_id) : undefined;
    if (!parent) continue;
    const isPost = FORUM_CHANNELS.has(parent.channel.type);
    const chat: ChatInfo = {
      id: chatId(t.id),
      name: t.name ?? null,
      kind: isPost ? 'forum-post' : 'thread',
      parentId: parent.channel.id,
      readable: parent.reason === null,
      metadata: {
        guildId: guild.id,
        guildName: guild.name,
        channelType: t.type,
        archived: t.thread_metadata?.archived ?? false,
        private: t.type === ChannelType.PrivateThread,
        messageCount: (t.message_count ?? null) as JsonValue,
      },
    };
    if (parent.reason) chat.reason = parent.reason;
    out.push(chat);
  }
  return out;
}

async function archivedThreads(
  ctx: PluginContext,
  api: DiscordRestClient,
  channelId: string,
  visibility: 'public' | 'private',
): Promise<APIThreadChannel[]> {
  const out: APIThreadChannel[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await ctx.request('messages', () =>
      api.get<RESTGetAPIChannelThreadsArchivedPublicResult>(
        `/channels/${channelId}/threads/archived/${visibility}`,
        {
          query: { limit: 100, before },
          signal: ctx.signal,
        },
      ),
    );
    const threads = page.threads as APIThreadChannel[];
    out.push(...threads);
    const last = threads.at(-1)?.thread_metadata?.archive_timestamp;
    if (!page.has_more || !last) return out;
    before = last;
  }
}
