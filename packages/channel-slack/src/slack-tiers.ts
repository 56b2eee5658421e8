import type { SlackAppTier } from './slack-plugin-options.ts';

/** Slack's Web API tiers, requests per minute per method per workspace (and app). */
export const SLACK_TIERS = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

/** The Web API methods the plugin calls. */
export type SlackMethod =
  | 'auth.test'
  | 'team.info'
  | 'bots.info'
  | 'users.info'
  | 'users.list'
  | 'conversations.list'
  | 'conversations.members'
  | 'conversations.history'
  | 'conversations.replies';

/** Each method's tier, from Slack's method reference (`auth.test` is "special"; paced as Tier 4). */
export const SLACK_METHOD_TIERS: Record<SlackMethod, keyof typeof SLACK_TIERS> = {
  'auth.test': 4,
  'team.info': 3,
  'bots.info': 3,
  'users.info': 4,
  'users.list': 2,
  'conversations.list': 2,
  'conversations.members': 4,
  'conversations.history': 3,
  'conversations.replies': 3,
};

/** The methods Slack's 2025 rule throttles for `unlisted` apps. */
const UNLISTED: readonly SlackMethod[] = ['conversations.history', 'conversations.replies'];
/** Page size cap of those methods for `unlisted` apps. */
export const UNLISTED_MAX_PAGE = 15;

/** Requests per minute a method gets for an app of this tier. */
export function methodPerMinute(method: SlackMethod, appTier: SlackAppTier): number {
  if (appTier === 'unlisted' && UNLISTED.includes(method)) return 1;
  return SLACK_TIERS[SLACK_METHOD_TIERS[method]];
}

/** The page size to ask `method` for: the wanted one, capped by the app's rating. */
export function pageSizeFor(method: SlackMethod, appTier: SlackAppTier, wanted: number): number {
  const size = Math.max(1, Math.floor(wanted));
  return appTier === 'unlisted' && UNLISTED.includes(method) ? Math.min(UNLISTED_MAX_PAGE, size) : size;
}

/**
 * What a history sync of `messages` messages (in `threads` threads) costs in Slack's limits, for a
 * plan or ETA: requests per method and the minimum minutes the tiers impose (methods run in parallel,
 * each at its own rate).
 */
export function historyCost(
  appTier: SlackAppTier,
  counts: { topLevelMessages: number; threads: number; repliesPerThread?: number },
  pageSizes: { history: number; replies: number } = { history: 200, replies: 200 },
): { historyRequests: number; repliesRequests: number; minutes: number } {
  const history = pageSizeFor('conversations.history', appTier, pageSizes.history);
  const replies = pageSizeFor('conversations.replies', appTier, pageSizes.replies);
  const historyRequests = Math.floor(counts.topLevelMessages / history) + 1;
  const perThread = Math.floor((counts.repliesPerThread ?? 0) / replies) + 1;
  const repliesRequests = counts.threads * perThread;
  const minutes = Math.max(
    historyRequests / methodPerMinute('conversations.history', appTier),
    repliesRequests / methodPerMinute('conversations.replies', appTier),
  );
  return { historyRequests, repliesRequests, minutes };
}
