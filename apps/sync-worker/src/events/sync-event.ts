/** Kinds of job event, in the order a job can emit them. */
export type SyncEventType =
  | 'sync.started'
  | 'sync.progress'
  | 'sync.completed'
  | 'sync.failed'
  | 'sync.cancelled';

/** Events after which a job emits nothing more. */
export const TERMINAL_EVENTS: ReadonlySet<SyncEventType> = new Set([
  'sync.completed',
  'sync.failed',
  'sync.cancelled',
]);

/** One event of a job, as published on the bus and streamed to dashboards. */
export interface SyncEvent {
  type: SyncEventType;
  instanceId: string;
  jobId: string;
  /** ISO 8601 UTC. */
  at: string;
  /** Job status after the event. */
  status: string;
  /** Progress snapshot (counters) when the event carries one. */
  progress?: Record<string, unknown>;
  progressPercent?: number | null;
  errorMessage?: string | null;
}

/** Subject of an event on NATS: `{prefix}.{instanceId}.{jobId}.{event}` (`sync.progress` → `progress`). */
export function eventSubject(
  prefix: string,
  event: Pick<SyncEvent, 'instanceId' | 'jobId' | 'type'>,
): string {
  return `${prefix}.${event.instanceId}.${event.jobId}.${event.type.replace(/^sync\./, '')}`;
}
