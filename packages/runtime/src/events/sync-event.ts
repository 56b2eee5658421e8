import type { SyncEventType } from '@omni/sync-core';

/** Kinds of job event: the runner's (sync-core). */
export type { SyncEventType };

/** Events after which a job emits nothing more. */
export const TERMINAL_EVENTS: ReadonlySet<SyncEventType> = new Set([
  'sync.completed',
  'sync.failed',
  'sync.cancelled',
]);

/**
 * One event of a job, as published on the bus and streamed to dashboards. The runner's events
 * (sync-core `SyncEvent`: type, jobId, instanceId, jobType, progress, at, error) fit this shape;
 * `status` and `progressPercent` are added where known.
 */
export interface SyncEvent {
  type: SyncEventType;
  instanceId: string;
  jobId: string;
  /** ISO 8601 UTC. */
  at: string;
  /** What the job syncs. */
  jobType?: string;
  /** Job status after the event (derived from `type` when absent). */
  status?: string;
  /** Progress snapshot when the event carries one. */
  progress?: object;
  progressPercent?: number | null;
  /** Why the job failed. */
  error?: string;
  /** `sync.paused`: when the rate-limit wait ends (ISO 8601 UTC) and what it waits on (`cooldown`, `token`). */
  until?: string;
  reason?: string;
}

const STATUS_BY_TYPE: Record<SyncEventType, string> = {
  'sync.started': 'running',
  'sync.progress': 'running',
  'sync.paused': 'running',
  'sync.completed': 'completed',
  'sync.failed': 'failed',
  'sync.cancelled': 'cancelled',
};

/** The job status an event implies. */
export function statusOf(event: Pick<SyncEvent, 'type' | 'status'>): string {
  return event.status ?? STATUS_BY_TYPE[event.type];
}

/** Subject of an event on NATS: `{prefix}.{instanceId}.{jobId}.{event}` (`sync.progress` → `progress`). */
export function eventSubject(
  prefix: string,
  event: Pick<SyncEvent, 'instanceId' | 'jobId' | 'type'>,
): string {
  return `${prefix}.${event.instanceId}.${event.jobId}.${event.type.replace(/^sync\./, '')}`;
}
