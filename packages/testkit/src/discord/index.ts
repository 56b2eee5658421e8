/**
 * A fake Discord REST v10 for tests and benchmarks.
 *
 * - {@link FakeDiscord}: a `Bun.serve` server answering the routes a history sync needs (users/@me,
 *   oauth2/applications/@me, users/@me/guilds, guilds, channels, active and archived threads,
 *   messages with before/after/around, members, attachments/refresh-urls) with payloads typed by
 *   `discord-api-types`; per-channel history buckets and a global limit with Discord's headers and
 *   429s (all configurable, `advertisedMessageLimit` makes headers lie); 401/403; signed, expiring
 *   CDN URLs served by the fake itself; counters in `stats`; fault injection with `inject()`.
 * - {@link DiscordDataset} + {@link MessageGenerator}: a seeded world whose message n of a chat is
 *   derived on demand (millions of messages, nothing held in memory); {@link mixedScenario} is a
 *   ready-made world with every shape a sync meets.
 *
 * @example
 * ```ts
 * const fake = await FakeDiscord.start({ data: mixedScenario(), messageRateLimit: { limit: 5, windowMs: 500 } });
 * const plugin = createDiscordPlugin({ api: fake.apiUrl, historyWindowMs: 500 });
 * // ctx.instance.credentials = { token: fake.token }
 * fake.inject({ kind: '429-html', afterRequest: 3, count: 2, route: /\/messages$/ });
 * expect(fake.stats.status429).toBe(2);
 * await fake.stop();
 * ```
 */
export { AttachmentSigner, type AttachmentUrlState } from './attachment-signer.ts';
export {
  DEFAULT_MESSAGE_MIX,
  type FakeChannelKind,
  type FakeChannelSpec,
  type FakeDiscordDataOptions,
  type FakeGuildSpec,
  type FakeMessageMix,
  type FakeThreadSpec,
} from './dataset-spec.ts';
export { DiscordDataset, type FakeChat, type FakeGuild } from './discord-dataset.ts';
export { attachmentBytes, attachmentFor, type FakeAttachmentInfo } from './fake-attachments.ts';
export { DEFAULT_FAKE_DISCORD_OPTIONS, type FakeDiscordOptions } from './fake-discord-options.ts';
export { FakeDiscord, type ResolvedFakeDiscordOptions } from './fake-discord-server.ts';
export { FakeDiscordStats } from './fake-discord-stats.ts';
export { faultAnswer } from './fault-answers.ts';
export { type FakeFault, type FakeFaultKind, FaultInjector, type FaultWindow } from './fault-injector.ts';
export {
  type FakeMessageShape,
  MessageGenerator,
  type MessagePageQuery,
} from './message-generator.ts';
export { DEFAULT_BOT_PERMISSIONS } from './payloads.ts';
export { type BucketVerdict, RateLimitBuckets, type RateLimitRule } from './rate-limit-buckets.ts';
export { mixedScenario } from './scenarios.ts';
export { compareSnowflakes, DISCORD_EPOCH_MS, snowflakeFromParts, snowflakeToMs } from './snowflake.ts';
