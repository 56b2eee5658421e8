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
export { type FakeFault, type FakeFaultKind, FaultInjector } from './fault-injector.ts';
export {
  type FakeMessageShape,
  MessageGenerator,
  type MessagePageQuery,
} from './message-generator.ts';
export { DEFAULT_BOT_PERMISSIONS } from './payloads.ts';
export { type BucketVerdict, RateLimitBuckets, type RateLimitRule } from './rate-limit-buckets.ts';
export { mixedScenario } from './scenarios.ts';
export { compareSnowflakes, DISCORD_EPOCH_MS, snowflakeFromParts, snowflakeToMs } from './snowflake.ts';
