import type { JobTicket } from '../queue/job-queue.ts';

/**
 * Where a job may run. Asked by the {@link SyncWorker} before it claims a job: a ticket this worker
 * cannot run is given back to the queue (after a short delay) for a worker that can, and the job
 * is not claimed. A channel whose live connection sits in one process (WhatsApp's socket, held
 * under a `channel_sessions` lease) runs its jobs only there; other channels run anywhere.
 *
 * @example
 * ```ts
 * const anywhere: JobPlacement = { canRun: async () => true };
 * ```
 */
export interface JobPlacement {
  /**
   * True when this worker can run the ticket's job now. May take what the job needs (a free
   * session lease) as a side effect; false leaves the job to another worker.
   */
  canRun(ticket: JobTicket): Promise<boolean>;
}
