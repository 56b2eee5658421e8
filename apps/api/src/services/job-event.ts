import type { SyncJob } from '@omni/db';
import type { SyncEvent, SyncEventType } from '@omni/runtime';
import { progressPercent } from './mappers.ts';

const TERMINAL_BY_STATUS: Record<string, SyncEventType> = {
  completed: 'sync.completed',
  failed: 'sync.failed',
  cancelled: 'sync.cancelled',
};

/** The event of type `type` describing the job row as it is now (what the bus carries). */
export function jobEvent(job: SyncJob, type: SyncEventType): SyncEvent {
  return {
    type,
    instanceId: job.instance_id,
    jobId: job.id,
    jobType: job.type,
    at: new Date().toISOString(),
    status: job.status,
    progress: job.progress,
    ...(job.error_message ? { error: job.error_message } : {}),
  };
}

/** {@link jobEvent} with the percentage the streams show. */
export function eventFromJob(job: SyncJob, type: SyncEventType): SyncEvent {
  return { ...jobEvent(job, type), progressPercent: progressPercent(job) };
}

/** The terminal event a finished job's row stands for; `undefined` while it is pending or running. */
export const terminalEventOf = (status: string): SyncEventType | undefined => TERMINAL_BY_STATUS[status];
