import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/**
 * The instance already has as many pending jobs as it may queue; a new one is refused (the API
 * answers 429 with `Retry-After`) until one starts or is cancelled.
 */
export class JobQueueFullError extends SyncError {
  override readonly name = 'JobQueueFullError';
  readonly code = 'JOB_QUEUE_FULL' as const;
  readonly instanceId: string;
  /** The cap that was reached (pending jobs per instance). */
  readonly limit: number;

  constructor(instanceId: string, limit: number, options: SyncErrorOptions = {}) {
    super(
      `instance ${instanceId} already has ${limit} pending sync jobs (the limit, setting sync.maxPendingJobsPerInstance): wait for one to start or cancel one`,
      { ...options, details: { instanceId, limit, ...options.details } },
    );
    this.instanceId = instanceId;
    this.limit = limit;
  }
}
