/**
 * How Slack rates this deployment's Slack app (setting `sync.slack.appTier`): `internal` (built by
 * the workspace for itself) and `marketplace` (approved for the Slack Marketplace) get Tier 3 for
 * `conversations.history` and `conversations.replies`; `unlisted` (commercially distributed
 * outside the Marketplace, Slack's rule since 29 May 2025) gets 1 request per minute and at most
 * 15 messages per page for those two methods.
 */
export type SlackAppTier = 'internal' | 'marketplace' | 'unlisted';

/** Options of {@link createSlackPlugin}. Every time is in the unit its name says. */
export interface SlackPluginOptions {
  /**
   * Base URL of the Web API, as `@slack/web-api`'s `slackApiUrl` (ends with `/`).
   * @defaultValue `process.env.SLACK_API_URL` ?? 'https://slack.com/api/'
   */
  apiUrl: string;
  /**
   * The app's rating. When unset, the setting `sync.slack.appTier` decides (read per call once
   * the process hands the plugin its settings), else `internal`.
   * @defaultValue undefined
   */
  appTier?: SlackAppTier;
  /**
   * Length of Slack's per-minute windows, ms. Only tests and benchmarks against the fake change it
   * (with the fake's `tierWindowMs`). @defaultValue 60000
   */
  tierWindowMs: number;
  /** Extra wait added to every window, ms, against clock and latency imprecision. @defaultValue 250 */
  pacingMarginMs: number;
  /** Messages per `conversations.history` page (Slack allows 999, recommends ≤ 200; `unlisted`: 15). @defaultValue 200 */
  historyPageSize: number;
  /** Messages per `conversations.replies` page (`unlisted`: 15). @defaultValue 200 */
  repliesPageSize: number;
  /** Items per `users.list` / `conversations.list` / `conversations.members` page. @defaultValue 200 */
  directoryPageSize: number;
  /** Request timeout, ms (a timeout becomes a `TransientError`). @defaultValue 15000 */
  requestTimeoutMs: number;
  /** Cooldown asked of the engine after a 429 without `Retry-After`, ms. @defaultValue 60000 */
  unknownRetryAfterMs: number;
  /**
   * Hosts private file URLs (`url_private`) may point to (exact names or `*.suffix`), the media
   * fetcher's allowlist for Slack: a file elsewhere is refused and the token goes nowhere else.
   * @defaultValue `SLACK_FILE_HOSTS` (comma-separated) ?? ['files.slack.com']
   */
  fileHosts: string[];
}

/** Defaults of {@link SlackPluginOptions}: Slack's documented limits. */
export const DEFAULT_SLACK_PLUGIN_OPTIONS = {
  apiUrl: 'https://slack.com/api/',
  tierWindowMs: 60_000,
  pacingMarginMs: 250,
  historyPageSize: 200,
  repliesPageSize: 200,
  directoryPageSize: 200,
  requestTimeoutMs: 15_000,
  unknownRetryAfterMs: 60_000,
  fileHosts: ['files.slack.com'],
} as const satisfies Required<Omit<SlackPluginOptions, 'fileHosts' | 'appTier'>> & {
  fileHosts: readonly string[];
};

/** Resolves user options over the defaults, `SLACK_API_URL` and `SLACK_FILE_HOSTS`. */
export function resolveSlackPluginOptions(options: Partial<SlackPluginOptions> = {}): SlackPluginOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const hosts = process.env.SLACK_FILE_HOSTS?.split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  return {
    ...DEFAULT_SLACK_PLUGIN_OPTIONS,
    apiUrl: process.env.SLACK_API_URL ?? DEFAULT_SLACK_PLUGIN_OPTIONS.apiUrl,
    fileHosts: hosts && hosts.length > 0 ? hosts : [...DEFAULT_SLACK_PLUGIN_OPTIONS.fileHosts],
    ...defined,
  };
}
