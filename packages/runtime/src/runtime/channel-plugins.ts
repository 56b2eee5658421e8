import { createDiscordPlugin, type DiscordPluginOptions } from '@omni/channel-discord';
import { createSlackPlugin, type SlackPluginOptions } from '@omni/channel-slack';
import type { ChannelPlugin } from '@omni/sync-core';

/** A comma-separated host list (`MEDIA_HOSTS`-style variables); `undefined` when unset or empty. */
export function hostList(text: string | undefined): string[] | undefined {
  const hosts = (text ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  return hosts.length > 0 ? hosts : undefined;
}

const num = (text: string | undefined): number | undefined => {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

/**
 * The channel plugins a process runs. Discord talks to `DISCORD_API_URL` (default Discord's own
 * API); its pacing can be tuned with `DISCORD_HISTORY_REQUESTS_PER_WINDOW`,
 * `DISCORD_HISTORY_WINDOW_MS` and `DISCORD_PAGE_SIZE` (for proxies and test fakes — the defaults are
 * Discord's documented limits). `DISCORD_MEDIA_HOSTS` (comma-separated, `*.suffix` allowed)
 * replaces the hosts attachments may be downloaded from. Slack talks to `SLACK_API_URL` (default
 * `https://slack.com/api/`), downloads files only from `SLACK_FILE_HOSTS` (default
 * `files.slack.com`), reads its rate profile from the setting `sync.slack.appTier`;
 * `SLACK_TIER_WINDOW_MS` and `SLACK_HISTORY_PAGE_SIZE` are for fakes and proxies (the defaults are
 * Slack's 60 s windows and 200 messages a page). WhatsApp needs a socket per linked phone and comes
 * with its linking routes.
 */
export function loadChannelPlugins(env: Record<string, string | undefined> = process.env): ChannelPlugin[] {
  const discord: Partial<DiscordPluginOptions> = {};
  const perWindow = num(env.DISCORD_HISTORY_REQUESTS_PER_WINDOW);
  const windowMs = num(env.DISCORD_HISTORY_WINDOW_MS);
  const pageSize = num(env.DISCORD_PAGE_SIZE);
  if (perWindow) discord.historyRequestsPerWindow = perWindow;
  if (windowMs) discord.historyWindowMs = windowMs;
  if (pageSize) discord.pageSize = Math.min(100, Math.floor(pageSize));
  if (env.DISCORD_API_URL) discord.api = env.DISCORD_API_URL;
  const mediaHosts = hostList(env.DISCORD_MEDIA_HOSTS);
  if (mediaHosts) discord.mediaHosts = mediaHosts;
  const slack: Partial<SlackPluginOptions> = {};
  const tierWindowMs = num(env.SLACK_TIER_WINDOW_MS);
  const slackPage = num(env.SLACK_HISTORY_PAGE_SIZE);
  if (env.SLACK_API_URL)
    slack.apiUrl = env.SLACK_API_URL.endsWith('/') ? env.SLACK_API_URL : `${env.SLACK_API_URL}/`;
  const fileHosts = hostList(env.SLACK_FILE_HOSTS);
  if (fileHosts) slack.fileHosts = fileHosts;
  if (tierWindowMs) slack.tierWindowMs = tierWindowMs;
  if (slackPage) slack.historyPageSize = Math.min(999, Math.floor(slackPage));
  return [createDiscordPlugin(discord), createSlackPlugin(slack)];
}
