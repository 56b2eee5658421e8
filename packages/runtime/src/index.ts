export type { EventBus, EventFilter, EventSubscription } from './events/event-bus.ts';
export { InProcessEventBus } from './events/in-process-event-bus.ts';
export { NatsEventBus } from './events/nats-event-bus.ts';
export {
  eventSubject,
  type SyncEvent,
  type SyncEventType,
  statusOf,
  TERMINAL_EVENTS,
} from './events/sync-event.ts';
export { FleetMetrics, type QueueStats } from './metrics/fleet-metrics.ts';
export {
  ProfileSyncService,
  type RefreshResult,
  type RefreshStaleOptions,
} from './profile/profile-sync-service.ts';
export { InProcessQueue } from './queue/in-process/in-process-queue.ts';
export type {
  ConsumeOptions,
  DeliveryHandler,
  JobDelivery,
  JobQueue,
  JobTicket,
  QueueConsumer,
  QueueMode,
} from './queue/job-queue.ts';
export {
  DEFAULT_NATS_JOB_QUEUE_OPTIONS,
  NatsJobQueue,
  type NatsJobQueueOptions,
} from './queue/nats/nats-queue.ts';
export { loadChannelPlugins } from './runtime/channel-plugins.ts';
export { createRateLimiter } from './runtime/create-rate-limiter.ts';
export { type CreateSyncRunnerOptions, createSyncRunner } from './runtime/create-runner.ts';
export { createWorkerRuntime, type WorkerRuntimeConfig } from './runtime/create-worker-runtime.ts';
export { openServices, type Services, type ServicesConfig } from './runtime/open-services.ts';
export { loadWorkerConfig, type WorkerConfig } from './runtime/worker-config.ts';
export {
  WorkerRuntime,
  type WorkerRuntimeDeps,
  type WorkerRuntimeOptions,
} from './runtime/worker-runtime.ts';
export {
  type CatchupReason,
  CatchupTrigger,
  type CatchupTriggerDeps,
} from './scheduler/catchup-trigger.ts';
export {
  DEFAULT_PG_LEASE_LOCK_OPTIONS,
  type LeaderLock,
  PgLeaseLock,
  type PgLeaseLockOptions,
  SingleProcessLock,
} from './scheduler/leader-lock.ts';
export { type LeaderDuty, Leadership } from './scheduler/leadership.ts';
export {
  SyncScheduler,
  type SyncSchedulerDeps,
  type SyncSchedulerOptions,
} from './scheduler/sync-scheduler.ts';
export { LocalWhatsAppGateway } from './whatsapp/local-whatsapp-gateway.ts';
export {
  DEFAULT_NATS_WHATSAPP_GATEWAY_OPTIONS,
  NatsWhatsAppGateway,
  type NatsWhatsAppGatewayOptions,
} from './whatsapp/nats-whatsapp-gateway.ts';
export type { WhatsAppGateway, WhatsAppQrAnswer } from './whatsapp/whatsapp-gateway.ts';
export { WhatsAppGatewayError, type WhatsAppGatewayErrorCode } from './whatsapp/whatsapp-gateway-error.ts';
export { WhatsAppJobPlacement } from './whatsapp/whatsapp-job-placement.ts';
export {
  DEFAULT_WHATSAPP_SUBJECT_PREFIX,
  type WhatsAppOperation,
} from './whatsapp/whatsapp-rpc.ts';
export {
  DEFAULT_WHATSAPP_SESSION_HOST_OPTIONS,
  WhatsAppSessionHost,
  type WhatsAppSessionHostDeps,
  type WhatsAppSessionHostOptions,
} from './whatsapp/whatsapp-session-host.ts';
export type { ExecutionContext, JobExecutor, StopReason } from './worker/job-executor.ts';
export type { JobPlacement } from './worker/job-placement.ts';
export { DEFAULT_REAPER_OPTIONS, Reaper, type ReaperOptions } from './worker/reaper.ts';
export { RunnerExecutor } from './worker/runner-executor.ts';
export { DEFAULT_SYNC_WORKER_OPTIONS, SyncWorker, type SyncWorkerOptions } from './worker/sync-worker.ts';
