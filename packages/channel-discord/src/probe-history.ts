import {
  type HistoryProbe,
  type HistoryProbeParams,
  PermanentError,
  type PluginContext,
} from '@omni/sync-core';
import type { APIMessage } from 'discord-api-types/v10';
import type { DiscordPluginOptions } from './discord-plugin-options.ts';
import type { DiscordRestClient } from './discord-rest-client.ts';
import { isSnowflake, snowflakeFromMs, snowflakeToMs } from './snowflake.ts';

/**
 * One page forward from the window's start (`after` = just below `since`, a full page): Discord
 * answers the oldest messages after it, so the page shows where the chat's history inside the
 * window begins, and — when it is not full, or reaches past `until` — every message of the window.
 * Same route, pacing and budget as a history page.
 */
export async function probeDiscordHistory(
  ctx: PluginContext,
  api: DiscordRestClient,
  options: DiscordPluginOptions,
  params: HistoryProbeParams,
): Promise<HistoryProbe> {
  const channel = params.chatId;
  if (!isSnowflake(channel)) {
    throw new PermanentError(
      `not a Discord channel id (a snowflake): ${JSON.stringify(channel).slice(0, 80)}`,
    );
  }
  const after = params.since === null ? 0n : BigInt(snowflakeFromMs(params.since)) - 1n;
  const below = BigInt(snowflakeFromMs(params.until));
  const limit = Math.min(100, Math.max(1, options.pageSize));
  const page = await ctx.request('messages', () =>
    api.get<APIMessage[]>(`/channels/${channel}/messages`, {
      query: { limit, after: (after < 0n ? 0n : after).toString() },
      historyChannelId: channel,
      signal: ctx.signal,
    }),
  );
  const inWindow = page.filter((m) => BigInt(m.id) < below).map((m) => snowflakeToMs(m.id));
  const oldest = inWindow.length > 0 ? Math.min(...inWindow) : null;
  const newest = inWindow.length > 0 ? Math.max(...inWindow) : null;
  return {
    oldestAt: oldest,
    sampled: inWindow.length,
    sampleSpanMs: oldest === null || newest === null ? 0 : newest - oldest,
    complete: page.length < limit || inWindow.length < page.length,
  };
}
