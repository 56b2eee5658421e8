export { createDiscordPlugin, DISCORD_CAPABILITIES, DiscordPlugin, discordPlugin } from './discord-plugin.ts';
export {
  DEFAULT_DISCORD_PLUGIN_OPTIONS,
  type DiscordPluginOptions,
  resolveDiscordPluginOptions,
} from './discord-plugin-options.ts';
export {
  type DiscordCallOptions,
  type DiscordRequestStats,
  DiscordRestClient,
} from './discord-rest-client.ts';
export { messageContentWarning } from './list-chats.ts';
export { attachmentToMedia, normalizeMessage } from './normalize-message.ts';
export { type BotInGuild, channelPermissions, unreadableReason } from './permissions.ts';
export {
  isCloudflareBan,
  type RateLimitAnswer,
  type RateLimitFallbacks,
  toRateLimitedError,
} from './rate-limit-answer.ts';
export { DISCORD_EPOCH_MS, isSnowflake, snowflakeFromMs, snowflakeToMs } from './snowflake.ts';
