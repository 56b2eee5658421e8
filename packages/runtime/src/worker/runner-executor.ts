import type { SyncJob } from '@omni/db';
import type { SyncRunner } from '@omni/sync-core';
import type { ExecutionContext, JobExecutor } from './job-executor.ts';

/**
 * Runs claimed jobs with sync-core's `SyncRunner`. The runner renews the lease and notices cancel
 * and lost leases by itself; only a shutdown is passed on, so it checkpoints and releases the job.
 */
export class RunnerExecutor implements JobExecutor {
  readonly #runner: SyncRunner;

  constructor(runner: SyncRunner) {
    this.#runner = runner;
  }

  async execute(job: SyncJob, ctx: ExecutionContext): Promise<void> {
    const shutdown = new AbortController();
    const forward = () => {
      if (ctx.signal.reason === 'shutdown') shutdown.abort('shutdown');
    };
    ctx.signal.addEventListener('abort', forward);
    if (ctx.signal.aborted) forward();
    try {
      await this.#runner.run(job, ctx.owner, { signal: shutdown.signal });
    } finally {
      ctx.signal.removeEventListener('abort', forward);
    }
  }
}
