import {
  type FetchHistoryParams,
  type HistoryBatch,
  type JsonValue,
  type PluginContext,
  chatId as toChatId,
} from '@omni/sync-core';
import { normalizeMessage, type SlackMessage } from './normalize-message.ts';
import type { SlackApiClient } from './slack-api-client.ts';
import type { SlackAppTier, SlackPluginOptions } from './slack-plugin-options.ts';
import { pageSizeFor } from './slack-tiers.ts';
import { compareTs, isTs, msFromTs, tsFromMs } from './slack-ts.ts';

/**
 * Where a history fetch stands, JSON-safe (the engine stores it as the chat's cursor):
 * `latest` — the oldest top-level ts already yielded (the next history page ends before it);
 * `threads` — roots of that page whose replies are not all yielded yet, the first one after
 * `after` (its last reply yielded); `end` — history has no older page; `exhausted` — and it began
 * after `since`.
 */
export interface SlackHistoryCursor {
  latest: string;
  threads: string[];
  after: string | null;
  end: boolean;
  exhausted: boolean;
}

interface HistoryAnswer {
  messages?: SlackMessage[];
  has_more?: boolean;
}

function readCursor(cursor: JsonValue | null, until: number): SlackHistoryCursor {
  const c = cursor as Partial<SlackHistoryCursor> | null;
  if (c && typeof c === 'object' && isTs(c.latest) && Array.isArray(c.threads) && c.threads.every(isTs)) {
    return {
      latest: c.latest,
      threads: [...c.threads],
      after: isTs(c.after) ? c.after : null,
      end: c.end === true,
      exhausted: c.exhausted === true,
    };
  }
  return { latest: tsFromMs(until), threads: [], after: null, end: false, exhausted: false };
}

/**
 * Pages a conversation backwards with `conversations.history` (`latest` = the oldest ts already
 * yielded, exclusive), from the cursor (or `until`) down to `since`, cut exactly at `since`. After
 * each history page come its threads: `conversations.replies` per root, up to `until`, one batch
 * per replies page, so the cursor resumes mid-thread. Thread broadcasts are skipped in history
 * (they come with their thread). Every request goes through `ctx.request('messages')` and the
 * client's per-method pacing; a rate-limited page is retried by the engine, never skipped.
 */
export async function* fetchSlackHistory(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
  params: FetchHistoryParams,
): AsyncGenerator<HistoryBatch> {
  const channel = params.chatId;
  const chat = toChatId(channel);
  const untilTs = tsFromMs(params.until);
  const state = readCursor(params.cursor, params.until);
  const historyLimit = pageSizeFor('conversations.history', appTier, options.historyPageSize);
  const repliesLimit = pageSizeFor('conversations.replies', appTier, options.repliesPageSize);
  const normalize = (m: SlackMessage) => normalizeMessage(m, chat, params.until);
  const snapshot = (): SlackHistoryCursor => ({ ...state, threads: [...state.threads] });
  const final = () => state.end && state.threads.length === 0;
  const batch = (messages: SlackMessage[]): HistoryBatch => {
    const out: HistoryBatch = {
      messages: messages.map(normalize),
      cursor: snapshot() as unknown as JsonValue,
      hasMore: !final(),
    };
    if (final() && state.exhausted) out.exhausted = true;
    return out;
  };

  const askReplies = (root: string, oldest: string) =>
    ctx.request('messages', () =>
      api.call<HistoryAnswer>(
        'conversations.replies',
        { channel, ts: root, oldest, latest: untilTs, inclusive: false, limit: repliesLimit },
        appTier,
        ctx.signal,
      ),
    );
  // The next replies page is asked for while the engine stores the batch just yielded, so a chat's
  // threads are walked at the pace of Slack's window, not of request + write one after the other.
  // Only a request the cursor already says comes next is started; a stop drops its answer.
  const pipe: { ahead: { key: string; page: Promise<HistoryAnswer> } | null } = { ahead: null };
  const prefetch = () => {
    const root = state.threads[0];
    if (root === undefined) return;
    const oldest = state.after ?? root;
    const page = askReplies(root, oldest);
    page.catch(() => {});
    pipe.ahead = { key: `${root}/${oldest}`, page };
  };

  for (;;) {
    while (state.threads.length > 0) {
      const root = state.threads[0]!;
      const oldest = state.after ?? root;
      const taken = pipe.ahead;
      pipe.ahead = null;
      const page = await (taken?.key === `${root}/${oldest}` ? taken.page : askReplies(root, oldest));
      const replies = (page.messages ?? [])
        .filter(
          (m) =>
            isTs(m.ts) && m.thread_ts === root && compareTs(m.ts, oldest) > 0 && compareTs(m.ts, untilTs) < 0,
        )
        .sort((a, b) => compareTs(a.ts, b.ts));
      const last = replies.at(-1);
      if (page.has_more === true && last) {
        state.after = last.ts;
      } else {
        state.threads.shift();
        state.after = null;
      }
      const out = batch(replies);
      prefetch();
      yield out;
    }
    if (state.end) return;

    const latest = state.latest;
    const page = await ctx.request('messages', () =>
      api.call<HistoryAnswer>(
        'conversations.history',
        { channel, latest, inclusive: false, limit: historyLimit },
        appTier,
        ctx.signal,
      ),
    );
    const all = (page.messages ?? [])
      .filter((m) => isTs(m.ts) && compareTs(m.ts, latest) < 0)
      .sort((a, b) => compareTs(b.ts, a.ts));
    const inRange =
      params.since === null ? all : all.filter((m) => msFromTs(m.ts) >= (params.since as number));
    const reachedSince = inRange.length < all.length;
    const top = inRange.filter((m) => !(m.thread_ts && m.thread_ts !== m.ts));
    const oldestSeen = inRange.at(-1);
    if (oldestSeen) state.latest = oldestSeen.ts;
    state.threads = top.filter((m) => m.thread_ts === m.ts && (m.reply_count ?? 0) > 0).map((m) => m.ts);
    state.after = null;
    state.end = reachedSince || page.has_more !== true || all.length === 0;
    // Exhausted: the history began after `since`; with "all" (no `since`) reaching the start is completion.
    state.exhausted = state.end && !reachedSince && params.since !== null;
    const out = batch([...top].reverse());
    prefetch();
    yield out;
    if (final()) return;
  }
}
