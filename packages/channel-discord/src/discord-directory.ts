import {
  type DirectoryPage,
  externalUserId,
  type JsonValue,
  type NormalizedContact,
  type NormalizedGroup,
  type PageParams,
  PermanentError,
  type PluginContext,
} from '@omni/sync-core';
import {
  type APIGuild,
  type APIGuildMember,
  ChannelType,
  type RESTGetAPIGuildChannelsResult,
} from 'discord-api-types/v10';
import type { DiscordPluginOptions } from './discord-plugin-options.ts';
import type { DiscordRestClient } from './discord-rest-client.ts';
import { listGuilds } from './guild-directory.ts';

/** Resume point of a directory listing: the guild being listed and the last member id seen. */
interface DirectoryCursor {
  guildId: string | null;
  after: string | null;
}

function readCursor(cursor: JsonValue | null): DirectoryCursor {
  if (cursor && typeof cursor === 'object' && !Array.isArray(cursor)) {
    const g = cursor.guildId;
    const a = cursor.after;
    return { guildId: typeof g === 'string' ? g : null, after: typeof a === 'string' ? a : null };
  }
  return { guildId: null, after: null };
}

/**
 * Where a directory listing starts: its cursor, the bot's guilds, and the index of the cursor's
 * guild among them (0 without a cursor, or when that guild is gone).
 */
async function resumeGuilds(ctx: PluginContext, api: DiscordRestClient, params: PageParams) {
  const start = readCursor(params.cursor);
  const guilds = await listGuilds(ctx, api, 'contacts');
  const index = start.guildId
    ? Math.max(
        0,
        guilds.findIndex((g) => g.id === start.guildId),
      )
    : 0;
  return { start, guilds, index };
}

const GROUP_CHANNELS = new Set<ChannelType>([
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildForum,
  ChannelType.GuildMedia,
]);

/**
 * Members of every guild as contacts, `GET /guilds/:id/members` 1000 per page with `after`.
 * When Discord refuses (Server Members intent not granted) the guild is skipped with a warning.
 */
export async function* fetchDiscordContacts(
  ctx: PluginContext,
  api: DiscordRestClient,
  options: DiscordPluginOptions,
  params: PageParams,
): AsyncGenerator<DirectoryPage<NormalizedContact>> {
  const { start, guilds, index: first } = await resumeGuilds(ctx, api, params);
  let index = first;
  let after = start.guildId ? start.after : null;
  const limit = Math.min(1000, Math.max(1, options.membersPageSize));
  while (index < guilds.length) {
    const guild = guilds[index]!;
    let members: APIGuildMember[];
    try {
      const afterId = after ?? '0';
      members = await ctx.request('contacts', () =>
        api.get<APIGuildMember[]>(`/guilds/${guild.id}/members`, {
          query: { limit, after: afterId },
          signal: ctx.signal,
        }),
      );
    } catch (error) {
      if (!(error instanceof PermanentError) || error.status !== 403) throw error;
      index++;
      after = null;
      yield {
        items: [],
        cursor: { guildId: guilds[index]?.id ?? null, after: null },
        hasMore: index < guilds.length,
        warnings: [
          `Guild ${guild.name} (${guild.id}): Discord refused to list members (Server Members privileged intent not granted?): ${error.message}`,
        ],
      };
      continue;
    }
    const items = members.flatMap((m) => (m.user ? [memberToContact(m, guild.id)] : []));
    const full = members.length === limit;
    if (full) {
      after = members.at(-1)!.user!.id;
    } else {
      index++;
      after = null;
    }
    const nextGuild = full ? guild.id : (guilds[index]?.id ?? null);
    yield { items, cursor: { guildId: nextGuild, after }, hasMore: full || index < guilds.length };
  }
}

function memberToContact(m: APIGuildMember, guildId: string): NormalizedContact {
  const user = m.user!;
  return {
    externalId: externalUserId(user.id),
    name: user.global_name ?? user.username,
    pushName: m.nick ?? null,
    avatarUrl: user.avatar ? `https://cdn.discordapp.com/avatars/${user.id}/${user.avatar}.png` : null,
    metadata: {
      username: user.username,
      discriminator: user.discriminator,
      bot: user.bot ?? false,
      guildId,
      roles: m.roles,
      joinedAt: m.joined_at ?? null,
    },
  };
}

/**
 * Guilds as groups (name, description, member count, icon), each followed by its text,
 * announcement and forum channels as groups of kind `channel` (parent guild in metadata).
 */
export async function* fetchDiscordGroups(
  ctx: PluginContext,
  api: DiscordRestClient,
  params: PageParams,
): AsyncGenerator<DirectoryPage<NormalizedGroup>> {
  const { guilds, index: first } = await resumeGuilds(ctx, api, params);
  for (let index = first; index < guilds.length; index++) {
    const id = guilds[index]!.id;
    const guild = await ctx.request('contacts', () =>
      api.get<APIGuild>(`/guilds/${id}`, { query: { with_counts: true }, signal: ctx.signal }),
    );
    const channels = await ctx.request('contacts', () =>
      api.get<RESTGetAPIGuildChannelsResult>(`/guilds/${id}/channels`, { signal: ctx.signal }),
    );
    const listed = channels.filter((c) => GROUP_CHANNELS.has(c.type));
    const iconUrl = guild.icon ? `https://cdn.discordapp.com/icons/${guild.id}/${guild.icon}.png` : null;
    const items: NormalizedGroup[] = [
      {
        externalId: guild.id,
        name: guild.name,
        description: guild.description ?? null,
        memberCount: guild.approximate_member_count ?? null,
        metadata: {
          kind: 'guild',
          iconUrl,
          iconHash: guild.icon,
          ownerId: guild.owner_id,
          features: guild.features,
          presenceCount: guild.approximate_presence_count ?? null,
          channels: listed.map((c) => ({ id: c.id, name: c.name, type: c.type })),
        },
      },
      ...listed.map(
        (c): NormalizedGroup => ({
          externalId: c.id,
          name: c.name,
          description: ('topic' in c && typeof c.topic === 'string' ? c.topic : null) ?? null,
          memberCount: null,
          metadata: {
            kind: 'channel',
            guildId: guild.id,
            guildName: guild.name,
            channelType: c.type,
            iconUrl,
          },
        }),
      ),
    ];
    yield {
      items,
      cursor: { guildId: guilds[index + 1]?.id ?? null, after: null },
      hasMore: index + 1 < guilds.length,
    };
  }
}
