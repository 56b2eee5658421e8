/**
 * A fake Slack Web API for tests and benchmarks.
 *
 * - {@link FakeSlack}: a `Bun.serve` server answering what a history sync calls (`auth.test`,
 *   `team.info`, `bots.info`, `users.info`, `users.list`, `conversations.list`,
 *   `conversations.members`, `conversations.history`, `conversations.replies`) plus private file
 *   URLs behind bearer auth; Slack's tiers per method per workspace (windows scalable in time for
 *   benchmarks), the 2025 `unlisted` rule (1 request/min, 15 per page), 429 with `Retry-After`,
 *   scopes with `missing_scope`, `not_in_channel`, `channel_not_found`, `invalid_auth`; counters
 *   in `stats`; fault injection with `inject()`.
 * - {@link SlackDataset}: a seeded workspace whose message n of a conversation (threads, files,
 *   edits, tombstones, `message_changed` / `message_deleted` entries) is derived on demand.
 *
 * @example
 * ```ts
 * const fake = await FakeSlack.start({ data: { channels: [{ name: 'general', messageCount: 500 }] } });
 * const plugin = createSlackPlugin({ apiUrl: fake.apiUrl, fileHosts: [fake.host] });
 * fake.inject({ kind: '429', count: 2, route: /conversations\.history/ });
 * ```
 */
export {
  FakeSlack,
  type FakeSlackFault,
  type FakeSlackOptions,
  FakeSlackStats,
  FULL_SLACK_SCOPES,
} from './fake-slack-server.ts';
export {
  type FakeSlackChannel,
  type FakeSlackFile,
  type FakeSlackUser,
  microsFromTs,
  msFromTs,
  REPLY_GAP_MS,
  type SlackChannelSpec,
  type SlackConversationType,
  SlackDataset,
  type SlackDatasetSpec,
  tsFromMicros,
} from './slack-dataset.ts';
export { fileBytes } from './slack-payloads.ts';
export {
  SLACK_METHOD_TIERS,
  SLACK_TIER_PER_MINUTE,
  type SlackTier,
  SlidingWindowCounter,
  UNLISTED_LIMITS,
  UNLISTED_METHODS,
} from './slack-tiers.ts';
