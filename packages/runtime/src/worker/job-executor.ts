import type { SyncJob } from '@omni/db';

/** Why a run was asked to stop early. */
export type StopReason = 'cancel' | 'shutdown' | 'lease-lost';

/** What the executor gets with a claimed job. */
export interface ExecutionContext {
  /** The worker id holding the job's lease. */
  owner: string;
  /** Aborted between batches when the job must stop; `signal.reason` is a {@link StopReason}. */
  signal: AbortSignal;
}

/**
 * Runs one claimed job (status `running`, lease held by `ctx.owner`) until it is completed, failed
 * or cancelled in the database — or, when `ctx.signal` aborts for `shutdown`/`lease-lost`, returns
 * after checkpointing the current batch, leaving the job `running` for the worker to release.
 */
export interface JobExecutor {
  execute(job: SyncJob, ctx: ExecutionContext): Promise<void>;
}
