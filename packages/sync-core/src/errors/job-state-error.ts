import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/**
 * The job is in a state that does not allow the action asked for, e.g. resuming a completed job
 * or cancelling a failed one (the API answers 409).
 */
export class JobStateError extends SyncError {
  override readonly name = 'JobStateError';
  readonly code = 'JOB_STATE_CONFLICT' as const;
  readonly jobId: string;
  /** The job's status when the action was refused. */
  readonly status: string;
  /** What was asked: `resume`, `cancel`, `complete`, `fail`… */
  readonly action: string;

  constructor(jobId: string, status: string, action: string, options: SyncErrorOptions = {}) {
    super(`cannot ${action} a ${status} job (${jobId})`, {
      ...options,
      details: { jobId, status, action, ...options.details },
    });
    this.jobId = jobId;
    this.status = status;
    this.action = action;
  }
}
