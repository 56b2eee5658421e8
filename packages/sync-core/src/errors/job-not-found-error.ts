import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** No sync job has this id (the API answers 404). */
export class JobNotFoundError extends SyncError {
  override readonly name = 'JobNotFoundError';
  readonly code = 'JOB_NOT_FOUND' as const;
  readonly jobId: string;

  constructor(jobId: string, options: SyncErrorOptions = {}) {
    super(`sync job ${jobId} not found`, { ...options, details: { jobId, ...options.details } });
    this.jobId = jobId;
  }
}
