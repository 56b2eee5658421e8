import { type APIOverwrite, OverwriteType, PermissionFlagsBits } from 'discord-api-types/v10';

/** Who the bot is in a guild, for permission checks. */
export interface BotInGuild {
  guildId: string;
  botId: string;
  roleIds: readonly string[];
  /** Base permissions in the guild (`permissions` of `GET /users/@me/guilds`). */
  base: bigint;
}

/** Discord's overwrite algorithm: @everyone, then the bot's roles together, then the bot itself. */
export function channelPermissions(bot: BotInGuild, overwrites: readonly APIOverwrite[] | undefined): bigint {
  if ((bot.base & PermissionFlagsBits.Administrator) !== 0n) return ~0n;
  let perms = bot.base;
  const apply = (allow: bigint, deny: bigint) => {
    perms = (perms & ~deny) | allow;
  };
  const everyone = overwrites?.find((o) => o.id === bot.guildId);
  if (everyone) apply(BigInt(everyone.allow), BigInt(everyone.deny));
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites ?? []) {
    if (o.type === OverwriteType.Role && o.id !== bot.guildId && bot.roleIds.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  apply(allow, deny);
  const member = overwrites?.find((o) => o.type === OverwriteType.Member && o.id === bot.botId);
  if (member) apply(BigInt(member.allow), BigInt(member.deny));
  return perms;
}

/** Why the bot cannot read a channel's history, or `null` when it can. */
export function unreadableReason(perms: bigint): string | null {
  if ((perms & PermissionFlagsBits.ViewChannel) === 0n) return 'missing VIEW_CHANNEL permission';
  if ((perms & PermissionFlagsBits.ReadMessageHistory) === 0n)
    return 'missing READ_MESSAGE_HISTORY permission';
  return null;
}
