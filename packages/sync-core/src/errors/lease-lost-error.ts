import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/**
 * The worker no longer holds the job's lease (it expired and another worker claimed the job, or
 * the job left `running`). The worker must stop touching the job.
 */
export class LeaseLostError extends SyncError {
  override readonly name = 'LeaseLostError';
  readonly code = 'LEASE_LOST' as const;
  readonly jobId: string;
  readonly owner: string;

  constructor(jobId: string, owner: string, options: SyncErrorOptions = {}) {
    super(`worker ${owner} no longer holds the lease of job ${jobId}`, {
      ...options,
      details: { jobId, owner, ...options.details },
    });
    this.jobId = jobId;
    this.owner = owner;
  }
}
