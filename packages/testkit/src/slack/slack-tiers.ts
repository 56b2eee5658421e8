/** Slack's Web API rate-limit tiers, requests per minute per method per workspace. */
export const SLACK_TIER_PER_MINUTE = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

/** A tier number. */
export type SlackTier = keyof typeof SLACK_TIER_PER_MINUTE;

/** The tier of each method the fake answers (Slack's method reference). */
export const SLACK_METHOD_TIERS: Record<string, SlackTier> = {
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

/** The two methods Slack's 2025 rule throttles for commercially distributed non-Marketplace apps. */
export const UNLISTED_METHODS = ['conversations.history', 'conversations.replies'] as const;

/** What those methods get under that rule: 1 request per minute, 15 messages per page at most. */
export const UNLISTED_LIMITS = { perMinute: 1, maxPage: 15 } as const;

/**
 * At most `limit` requests in any `windowMs` per key (workspace and method), as Slack counts them;
 * a refused request is not counted. Answers how long until the next one would be let through.
 */
export class SlidingWindowCounter {
  readonly #hits = new Map<string, number[]>();

  /** Takes a slot for `key` at `now`, or says how many ms until one frees. */
  take(
    key: string,
    limit: number,
    windowMs: number,
    now: number,
  ): { ok: true } | { ok: false; retryAfterMs: number } {
    const hits = this.#hits.get(key) ?? [];
    while (hits.length > 0 && hits[0]! <= now - windowMs) hits.shift();
    if (hits.length >= limit) return { ok: false, retryAfterMs: hits[0]! + windowMs - now };
    hits.push(now);
    this.#hits.set(key, hits);
    return { ok: true };
  }
}
