export type { EventBus, EventFilter, EventSubscription } from './events/event-bus.ts';
export { InProcessEventBus } from './events/in-process-event-bus.ts';
export { eventSubject, type SyncEvent, type SyncEventType, TERMINAL_EVENTS } from './events/sync-event.ts';
export { type PluginLookup, StaticPluginLookup } from './plugins/plugin-lookup.ts';
export { directContext, toInstanceRef } from './profile/instance-ref.ts';
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
