import type { SyncEvent } from './sync-event.ts';

/** Which events a subscriber wants. */
export interface EventFilter {
  instanceId?: string;
  jobId?: string;
}

/** A subscription; `close()` stops delivery. */
export interface EventSubscription {
  close(): Promise<void>;
}

/**
 * Where workers publish job events and the API's SSE route reads them: in-process in embedded mode,
 * NATS subjects carrying the instance id when scaled out.
 */
export interface EventBus {
  publish(event: SyncEvent): Promise<void>;
  /** Same as `publish`, never rejecting: the runner's `EventSink`. */
  emit(event: SyncEvent): Promise<void>;
  subscribe(filter: EventFilter, handler: (event: SyncEvent) => void): Promise<EventSubscription>;
  close(): Promise<void>;
}
