import {
  chatId,
  type FetchHistoryParams,
  type HistoryBatch,
  PermanentError,
  type PluginContext,
} from '@omni/sync-core';
import type { APIMessage } from 'discord-api-types/v10';
import type { DiscordPluginOptions } from './discord-plugin-options.ts';
import type { DiscordRestClient } from './discord-rest-client.ts';
import { normalizeMessage } from './normalize-message.ts';
import { isSnowflake, snowflakeFromMs } from './snowflake.ts';

/**
 * Pages a channel backwards with `before`, 100 at a time, from the cursor (or `until`) down to
 * `since`. The cursor is the id of the oldest message already yielded; messages older than
 * `since` are cut off exactly (by snowflake, i.e. by send time). The last batch is `exhausted` when
 * the channel's history starts after `since`. Each page goes through
 * `ctx.request('messages')` and the client's per-channel pacing; a rate-limited page is retried
 * by the engine, never skipped.
 */
export async function* fetchDiscordHistory(
  ctx: PluginContext,
  api: DiscordRestClient,
  options: DiscordPluginOptions,
  params: FetchHistoryParams,
): AsyncGenerator<HistoryBatch> {
  const channel = params.chatId;
  if (!isSnowflake(channel)) {
    throw new PermanentError(
      `not a Discord channel id (a snowflake): ${JSON.stringify(channel).slice(0, 80)}`,
      {
        details: { chatId: channel },
      },
    );
  }
  const floor = params.since === null ? null : BigInt(snowflakeFromMs(params.since));
  let before = isSnowflake(params.cursor) ? params.cursor : snowflakeFromMs(params.until);
  const limit = Math.min(100, Math.max(1, options.pageSize));
  for (;;) {
    const cursorBefore = before;
    const page = await ctx.request('messages', () =>
      api.get<APIMessage[]>(`/channels/${channel}/messages`, {
        query: { limit, before: cursorBefore },
        historyChannelId: channel,
        signal: ctx.signal,
      }),
    );
    const inRange = floor === null ? page : page.filter((m) => BigInt(m.id) >= floor);
    const reachedSince = inRange.length < page.length;
    const reachedStart = page.length < limit;
    const oldest = inRange.at(-1);
    if (oldest) before = oldest.id;
    const messages = inRange.reverse().map((m) => normalizeMessage(m, chatId(channel)));
    const done = reachedSince || reachedStart;
    const batch: HistoryBatch = { messages, cursor: before, hasMore: !done };
    // Exhausted = the history began after `since`; with `all` (no `since`) reaching the start is completion.
    if (done && !reachedSince && floor !== null) batch.exhausted = true;
    yield batch;
    if (done) return;
  }
}
