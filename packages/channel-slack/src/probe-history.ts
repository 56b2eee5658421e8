import type { HistoryProbe, HistoryProbeParams, PluginContext } from '@omni/sync-core';
import type { SlackMessage } from './normalize-message.ts';
import type { SlackApiClient } from './slack-api-client.ts';
import type { SlackAppTier, SlackPluginOptions } from './slack-plugin-options.ts';
import { pageSizeFor } from './slack-tiers.ts';
import { isTs, msFromTs, tsFromMs } from './slack-ts.ts';

/**
 * One `conversations.history` page bounded by the window (`oldest` = since, `latest` = until, a
 * history page's size). Slack answers from the newest end, so the page tells where the window's
 * history begins only when it holds all of it (`has_more` false): then the count is exact — the
 * top-level messages plus the replies their roots announce (`reply_count`, which may include
 * replies newer than `until`). Otherwise it is a density sample of the window's newest end.
 */
export async function probeSlackHistory(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
  params: HistoryProbeParams,
): Promise<HistoryProbe> {
  const limit = pageSizeFor('conversations.history', appTier, options.historyPageSize);
  const page = await ctx.request('messages', () =>
    api.call<{ messages?: SlackMessage[]; has_more?: boolean }>(
      'conversations.history',
      {
        channel: params.chatId,
        ...(params.since === null ? {} : { oldest: tsFromMs(params.since) }),
        latest: tsFromMs(params.until),
        inclusive: params.since !== null,
        limit,
      },
      appTier,
      ctx.signal,
    ),
  );
  const top = (page.messages ?? []).filter(
    (m) =>
      isTs(m.ts) &&
      !(m.thread_ts && m.thread_ts !== m.ts) &&
      (params.since === null || msFromTs(m.ts) >= params.since) &&
      msFromTs(m.ts) < params.until,
  );
  const times = top.map((m) => msFromTs(m.ts));
  const oldest = times.length > 0 ? Math.min(...times) : null;
  const newest = times.length > 0 ? Math.max(...times) : null;
  const complete = page.has_more !== true;
  const replies = top.reduce((n, m) => n + (m.thread_ts === m.ts ? (m.reply_count ?? 0) : 0), 0);
  return {
    ...(complete ? { oldestAt: oldest } : {}),
    sampled: top.length + replies,
    sampleSpanMs: oldest === null || newest === null ? 0 : newest - oldest,
    complete,
  };
}
