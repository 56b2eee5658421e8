import type { SyncJobType } from '@omni/db';
import type { SyncProgress } from '../jobs/sync-progress.ts';

/** Names of the events a sync emits. */
export type SyncEventType =
  | 'sync.started'
  | 'sync.progress'
  | 'sync.paused'
  | 'sync.completed'
  | 'sync.failed'
  | 'sync.cancelled';

/**
 * One sync event: which job, of which instance, and its progress at that moment. `sync.paused`
 * is emitted when the job starts waiting more than 2 s on a rate-limit cooldown or its request
 * budget, with `until` and `reason`.
 */
export interface SyncEvent {
  type: SyncEventType;
  jobId: string;
  instanceId: string;
  /** What the job syncs (`messages`, `profile`…). */
  jobType: SyncJobType;
  progress: SyncProgress;
  /** When the event was emitted, ISO 8601 UTC. */
  at: string;
  /** Why the job failed (`sync.failed` only). */
  error?: string;
  /** When the wait ends, ISO 8601 UTC (`sync.paused` only). */
  until?: string;
  /** What the job waits on: `cooldown` (the platform said slow down) or `token` (the request budget) (`sync.paused` only). */
  reason?: string;
}

/**
 * Where the runner sends events (NATS, SSE, webhooks…). `emit` must not throw for the sync's
 * sake: errors are logged and ignored. `sync.progress` is throttled to at most 2 per second.
 */
export interface EventSink {
  emit(event: SyncEvent): void | Promise<void>;
}

/** An event sink that drops everything. */
export const noopEventSink: EventSink = { emit: () => {} };

/** An event sink that keeps every event in memory (tests, in-process SSE). */
export class MemoryEventSink implements EventSink {
  readonly events: SyncEvent[] = [];

  emit(event: SyncEvent): void {
    this.events.push(event);
  }

  /** Events of one type. */
  ofType(type: SyncEventType): SyncEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}
