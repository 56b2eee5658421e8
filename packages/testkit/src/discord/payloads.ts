import {
  type APIApplication,
  type APIGuild,
  type APIGuildMember,
  type APIOverwrite,
  type APIThreadChannel,
  type APIUser,
  type ChannelFlags,
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  type GuildMemberFlags,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  OverwriteType,
  PermissionFlagsBits,
  type RESTAPIPartialCurrentUserGuild,
  type RESTGetAPIGuildChannelsResult,
  type RoleFlags,
  ThreadAutoArchiveDuration,
} from 'discord-api-types/v10';
import type { DiscordDataset, FakeChat, FakeGuild } from './discord-dataset.ts';
import { fakeUser, type MessageGenerator } from './message-generator.ts';

/** The bot's base permissions in every guild (what `/users/@me/guilds` reports). */
export const DEFAULT_BOT_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.ManageThreads;

/** The bot user. */
export function botUser(data: DiscordDataset): APIUser {
  return {
    id: data.botId,
    username: data.botName,
    discriminator: '0',
    global_name: null,
    avatar: 'b0a7',
    bot: true,
  };
}

/** `GET /oauth2/applications/@me`. */
export function application(data: DiscordDataset, flags: number): APIApplication {
  return {
    id: data.applicationId,
    name: data.botName,
    icon: null,
    description: data.applicationDescription,
    bot_public: true,
    bot_require_code_grant: false,
    bot: botUser(data),
    summary: '',
    verify_key: 'f'.repeat(64),
    team: null,
    flags,
    approximate_guild_count: data.guilds.length,
  } as APIApplication;
}

/** One entry of `GET /users/@me/guilds`. */
export function partialGuild(
  guild: FakeGuild,
  permissions: bigint,
  withCounts: boolean,
): RESTAPIPartialCurrentUserGuild {
  const out: RESTAPIPartialCurrentUserGuild = {
    id: guild.id,
    name: guild.name,
    icon: guild.icon,
    banner: null,
    owner: false,
    features: [],
    permissions: permissions.toString(),
  };
  if (withCounts) {
    out.approximate_member_count = guild.memberCount + 1;
    out.approximate_presence_count = Math.ceil(guild.memberCount / 3);
  }
  return out;
}

/** `GET /guilds/:id`. */
export function fullGuild(guild: FakeGuild, permissions: bigint, withCounts: boolean): APIGuild {
  const out: APIGuild = {
    id: guild.id,
    name: guild.name,
    icon: guild.icon,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: guild.description,
    owner_id: '0',
    region: 'europe',
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: GuildVerificationLevel.Low,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: [
      everyoneRole(guild, permissions),
      {
        ...everyoneRole(guild, permissions),
        id: guild.botRoleId,
        name: 'omni-bot',
        position: 1,
        managed: true,
      },
    ],
    emojis: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotifications,
    rules_channel_id: null,
    vanity_url_code: null,
    premium_tier: GuildPremiumTier.None,
    preferred_locale: 'en-US' as APIGuild['preferred_locale'],
    public_updates_channel_id: null,
    nsfw_level: GuildNSFWLevel.Default,
    stickers: [],
    premium_progress_bar_enabled: false,
    hub_type: null,
    safety_alerts_channel_id: null,
    incidents_data: null,
  };
  if (withCounts) {
    out.approximate_member_count = guild.memberCount + 1;
    out.approximate_presence_count = Math.ceil(guild.memberCount / 3);
  }
  return out;
}

function everyoneRole(guild: FakeGuild, permissions: bigint): APIGuild['roles'][number] {
  return {
    id: guild.id,
    name: '@everyone',
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: 0,
    permissions: (permissions & ~PermissionFlagsBits.ManageThreads).toString(),
    managed: false,
    mentionable: false,
    flags: 0 as RoleFlags,
  };
}

/** Overwrites of a chat: unreadable ones deny VIEW_CHANNEL to everyone and to the bot's role. */
function overwrites(guild: FakeGuild, chat: FakeChat): APIOverwrite[] {
  if (chat.readable) return [];
  const deny = PermissionFlagsBits.ViewChannel.toString();
  return [
    { id: guild.id, type: OverwriteType.Role, allow: '0', deny },
    { id: guild.botRoleId, type: OverwriteType.Role, allow: '0', deny },
  ];
}

/** `GET /guilds/:id/channels`: the guild's channels, threads excluded. */
export function guildChannels(
  data: DiscordDataset,
  guild: FakeGuild,
  gen: MessageGenerator,
): RESTGetAPIGuildChannelsResult {
  return data
    .chatsOfGuild(guild.id)
    .filter((c) => !c.isThread)
    .map((chat, position) => {
      const base = {
        id: chat.id,
        guild_id: guild.id,
        name: chat.name,
        position,
        parent_id: null,
        nsfw: false,
        permission_overwrites: overwrites(guild, chat),
        topic: chat.topic,
        rate_limit_per_user: 0,
        last_message_id: chat.messageCount > 0 ? gen.idAt(chat, chat.messageCount - 1) : null,
        flags: 0,
      };
      if (chat.type === ChannelType.GuildForum) {
        return {
          ...base,
          type: ChannelType.GuildForum,
          available_tags: [],
          default_reaction_emoji: null,
          default_sort_order: null,
          default_forum_layout: 0,
        } as RESTGetAPIGuildChannelsResult[number];
      }
      return { ...base, type: chat.type } as RESTGetAPIGuildChannelsResult[number];
    });
}

/** A thread as the thread routes return it. */
export function thread(chat: FakeChat, gen: MessageGenerator, botId: string): APIThreadChannel {
  const t: APIThreadChannel = {
    id: chat.id,
    guild_id: chat.guildId,
    parent_id: chat.parentId ?? '0',
    owner_id: botId,
    name: chat.name,
    type: chat.type as ChannelType.PublicThread | ChannelType.PrivateThread | ChannelType.AnnouncementThread,
    last_message_id: chat.messageCount > 0 ? gen.idAt(chat, chat.messageCount - 1) : null,
    message_count: chat.messageCount,
    member_count: 3,
    rate_limit_per_user: 0,
    flags: 0 as ChannelFlags,
    total_message_sent: chat.messageCount,
    thread_metadata: {
      archived: chat.archived,
      auto_archive_duration: ThreadAutoArchiveDuration.OneWeek,
      archive_timestamp: archiveTimestamp(chat),
      locked: false,
      create_timestamp: new Date(chat.firstMs).toISOString(),
    },
  };
  return t;
}

/** When a thread was archived (its last activity). */
export function archiveTimestamp(chat: FakeChat): string {
  return new Date(chat.endMs + chat.index * 1000).toISOString();
}

/** Guild member `i` (the bot is not among them). */
export function member(data: DiscordDataset, guild: FakeGuild, i: number): APIGuildMember {
  return {
    user: fakeUser(data.memberId(guild, i), i),
    ...(i % 5 === 0 ? { nick: `nick-${i}` } : {}),
    roles: [],
    joined_at: new Date(data.nowMs - (i + 1) * 3_600_000).toISOString(),
    deaf: false,
    mute: false,
    flags: 0 as GuildMemberFlags,
  };
}

/** The bot as a member of a guild: carries the bot role. */
export function botMember(data: DiscordDataset, guild: FakeGuild): APIGuildMember {
  return {
    user: botUser(data),

    roles: [guild.botRoleId],
    joined_at: new Date(data.nowMs - 86_400_000).toISOString(),
    deaf: false,
    mute: false,
    flags: 0 as GuildMemberFlags,
  };
}
