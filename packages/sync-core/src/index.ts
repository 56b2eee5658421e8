export type {
  ChannelCapabilities,
  ChannelId,
  ChannelPlugin,
  ChatInfo,
  ChatListing,
  ContactsSource,
  DirectoryPage,
  FetchHistoryParams,
  GroupsSource,
  HistoryBatch,
  HistoryPushSource,
  InstanceRef,
  LidMapping,
  Logger,
  MediaSource,
  NormalizedContact,
  NormalizedGroup,
  NormalizedParticipant,
  PageParams,
  PluginContext,
  PushedHistory,
  RequestKind,
  SettingsConsumer,
  StoredMessageRef,
  SyncPart,
} from './contract/channel-plugin.ts';
export {
  CHANNEL_IDS,
  type ChatIdValidator,
  type HistoryPacing,
  type HistoryPacingSource,
  type HistoryProbe,
  type HistoryProbeParams,
  type HistoryProbeSource,
  hasContacts,
  hasGroups,
  hasHistoryPacing,
  hasHistoryProbe,
  hasHistoryPush,
  hasMedia,
  hasSettings,
  validatesChatIds,
} from './contract/channel-plugin.ts';
export type {
  Brand,
  ChatId,
  ExternalMessageId,
  ExternalUserId,
  InstanceId,
  JobId,
  JsonValue,
} from './contract/ids.ts';
export { chatId, externalMessageId, externalUserId, instanceId, isUuid, jobId } from './contract/ids.ts';
export type { MediaDescriptor, MessageKind, NormalizedMessage } from './contract/normalized-message.ts';
export type { ChannelProfile } from './contract/profile.ts';
export {
  type CoverageExtension,
  extendCoverage,
  extendLiveCoverage,
  markCoverageEdge,
  readCoverage,
} from './coverage/coverage-ledger.ts';
export {
  COVERAGE_REASONS,
  type CoverageGap,
  type CoverageRange,
  type CoverageReason,
  mergeRanges,
  uncoveredGaps,
} from './coverage/coverage-range.ts';
export {
  buildCoverageReport,
  type ChatCoverageReport,
  type CoverageReport,
  type CoverageReportOptions,
  type GapReason,
  type ReportGap,
} from './coverage/coverage-report.ts';
export {
  buildSyncPlan,
  type ChatPlan,
  type PlanProbe,
  type SyncPlan,
  type SyncPlanRequest,
} from './coverage/sync-plan.ts';
export { AuthError } from './errors/auth-error.ts';
export { CancelledError } from './errors/cancelled-error.ts';
export { InstanceNotFoundError } from './errors/instance-not-found-error.ts';
export { JobNotFoundError } from './errors/job-not-found-error.ts';
export { JobQueueFullError } from './errors/job-queue-full-error.ts';
export { JobStateError } from './errors/job-state-error.ts';
export { LeaseLostError } from './errors/lease-lost-error.ts';
export { MediaError, type MediaFailureReason } from './errors/media-error.ts';
export { MEDIA_REFUSALS, type MediaRefusal, MediaRefusedError } from './errors/media-refused-error.ts';
export { NotFoundError } from './errors/not-found-error.ts';
export { PermanentError } from './errors/permanent-error.ts';
export { PluginNotFoundError } from './errors/plugin-not-found-error.ts';
export { RateLimitedError, type RateLimitScope } from './errors/rate-limited-error.ts';
export { isSyncError, SyncError, type SyncErrorCode, type SyncErrorOptions } from './errors/sync-error.ts';
export { TransientError } from './errors/transient-error.ts';
export {
  type EventSink,
  MemoryEventSink,
  noopEventSink,
  type SyncEvent,
  type SyncEventType,
} from './events/sync-event.ts';
export { JobRepository } from './jobs/job-repository.ts';
export {
  type CreateJobOptions,
  type CreateJobResult,
  type FinishJobOptions,
  type JobLease,
  type JobPage,
  type LeaseState,
  type ListJobsOptions,
  leaseOf,
  type SyncJobConfig,
} from './jobs/job-types.ts';
export { type MediaOutcomeCount, MediaOutcomeCounter } from './jobs/media-outcome-counter.ts';
export {
  type ExhaustedChat,
  emptyProgress,
  type PartStatus,
  PROGRESS_COUNTERS,
  type ProgressCounter,
  type ProgressDelta,
  progressWithDelta,
  readProgress,
  type SkippedChat,
  type SyncProgress,
} from './jobs/sync-progress.ts';
export {
  REDACTED_LOG_PATHS,
  redactUrl,
  SAFE_LOG_OPTIONS,
  type SafeLoggedError,
  safeErrorSerializer,
  safeRequestSerializer,
} from './logging/safe-log-options.ts';
export { blockedRange, isPublicAddress } from './media/address-policy.ts';
export type { MediaBytes } from './media/media-bytes.ts';
export {
  DEFAULT_MEDIA_FETCHER_OPTIONS,
  MediaFetcher,
  type MediaFetcherOptions,
  type MediaFetchInit,
  SIZE_SLACK_BYTES,
} from './media/media-fetcher.ts';
export { hostAllowed, parseAllowOrigins } from './media/media-host-policy.ts';
export {
  DEFAULT_MEDIA_QUEUE_OPTIONS,
  MediaQueue,
  type MediaQueueOptions,
  type MediaTask,
  type MediaTaskOutcome,
} from './media/media-queue.ts';
export {
  DEFAULT_MEDIA_STORAGE_OPTIONS,
  type MediaSkipReason,
  type MediaStorageOptions,
  MediaStorageService,
  type MediaStoreInput,
  type MediaStoreOutcome,
} from './media/media-storage.ts';
export { isInlineSafeMime, isMarkupMime, looksLikeMarkup } from './media/media-type-policy.ts';
export { type HostResolver, systemResolver } from './media/media-url-check.ts';
export { bareMime, extensionForMime, mimeAllowed } from './media/mime-types.ts';
export { noopSyncMetrics, type PlatformRequestOutcome, type SyncMetrics } from './metrics/sync-metrics.ts';
export {
  type BucketState,
  type BudgetSlot,
  DEFAULT_BUDGET_RULE,
  releaseSlot,
  type SlotTake,
  takeSlot,
} from './rate-limit/bucket-slots.ts';
export type { BucketMutation, BudgetStore, Mutation } from './rate-limit/budget-store.ts';
export { type Clock, systemClock, VirtualClock } from './rate-limit/clock.ts';
export {
  type CooldownPolicy,
  DEFAULT_EXPONENTIAL_COOLDOWN_OPTIONS,
  type ExponentialCooldownOptions,
  ExponentialCooldownPolicy,
} from './rate-limit/cooldown-policy.ts';
export { MemoryBudgetStore } from './rate-limit/memory-budget-store.ts';
export {
  applyPause,
  claimProbe,
  emptyPause,
  endProbe,
  type PauseRow,
  type PauseVerdict,
  pauseState,
  pauseVerdict,
  probeInFlight,
} from './rate-limit/pause-rules.ts';
export { PostgresBudgetStore } from './rate-limit/postgres-budget-store.ts';
export type {
  BudgetGrant,
  BudgetKey,
  BudgetRule,
  BudgetWait,
  GrantOutcome,
  PauseRequest,
  PauseState,
  RateBudget,
  TakeOptions,
} from './rate-limit/rate-budget.ts';
export { hostIpIdentity, rateIdentity, tokenIdentity } from './rate-limit/rate-identity.ts';
export {
  DEFAULT_RATE_LIMITER_OPTIONS,
  perMinuteRule,
  type RateKey,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitStats,
  type RateLimitWait,
  type RequestHooks,
} from './rate-limit/rate-limiter.ts';
export {
  fixedRateSource,
  type RatePlatform,
  type RateSource,
  ratePlatformOf,
  settingsRateSource,
} from './rate-limit/rate-source.ts';
export {
  DEFAULT_SHARED_RATE_BUDGET_OPTIONS,
  SharedRateBudget,
  type SharedRateBudgetOptions,
} from './rate-limit/shared-rate-budget.ts';
export { type LimiterGrant, SlidingWindowLimiter } from './rate-limit/sliding-window-limiter.ts';
export { TokenBucket } from './rate-limit/token-bucket.ts';
export { currentWaitScope, type WaitScope, withWaitScope } from './rate-limit/wait-scope.ts';
export type { BatchCommitted, StopReason } from './runner/job-run.ts';
export {
  type ContextHooks,
  noopLogger,
  PluginContextFactory,
  type PluginContextFactoryOptions,
} from './runner/plugin-context-factory.ts';
export { PluginRegistry } from './runner/plugin-registry.ts';
export { isSyncDepth, sinceForDepth } from './runner/sync-depth.ts';
export { defaultWorkerId, SyncRunner } from './runner/sync-runner.ts';
export {
  DEFAULT_SYNC_RUNNER_OPTIONS,
  type RunOptions,
  type RunResult,
  type RunStatus,
  type SyncRunnerOptions,
} from './runner/sync-runner-options.ts';
export { PostgresAuthStateStore } from './storage/auth-state-store.ts';
export {
  DEFAULT_DEDUPE_WRITER_OPTIONS,
  DedupeWriter,
  type DedupeWriterOptions,
  PreparedBatch,
  type StatementExtras,
  writesInOneStatement,
} from './storage/dedupe-writer.ts';
export { type ChatUpsert, DirectoryWriter, type UpsertCounts } from './storage/directory-writer.ts';
export {
  DEFAULT_HISTORY_INBOX_OPTIONS,
  HistoryInbox,
  type HistoryInboxOptions,
  type InboxEntry,
} from './storage/history-inbox.ts';
export {
  DEFAULT_HISTORY_INGESTOR_OPTIONS,
  HistoryIngestor,
  type HistoryIngestorOptions,
  type IngestResult,
} from './storage/history-ingestor.ts';
export { LidMappingStore, lidMappingsUpsert } from './storage/lid-mapping-store.ts';
export { type SessionLease, SessionLeaseStore } from './storage/session-lease-store.ts';
export type {
  ChatCheckpoint,
  InsertedMessage,
  WriteBatchInput,
  WriteBatchResult,
} from './storage/write-batch.ts';
