import type { Database, SyncJob } from '@omni/db';
import type { SyncRunner } from '@omni/sync-core';
import type { Kysely } from 'kysely';
import type { FleetMetrics } from '../metrics/fleet-metrics.ts';
import type { ExecutionContext, JobExecutor } from './job-executor.ts';

/**
 * Runs claimed jobs with sync-core's `SyncRunner`. The runner renews the lease and notices cancel
 * and lost leases by itself; only a shutdown is passed on, so it checkpoints and releases the job.
 */
export class RunnerExecutor implements JobExecutor {
  readonly #runner: SyncRunner;
  readonly #metrics: { db: Kysely<Database>; metrics: FleetMetrics } | null;

  /** With `metrics`, each run's duration and media outcomes are recorded when it ends. */
  constructor(runner: SyncRunner, metrics: { db: Kysely<Database>; metrics: FleetMetrics } | null = null) {
    this.#runner = runner;
    this.#metrics = metrics;
  }

  async execute(job: SyncJob, ctx: ExecutionContext): Promise<void> {
    const shutdown = new AbortController();
    const forward = () => {
      if (ctx.signal.reason === 'shutdown') shutdown.abort('shutdown');
    };
    ctx.signal.addEventListener('abort', forward);
    if (ctx.signal.aborted) forward();
    const started = performance.now();
    try {
      const result = await this.#runner.run(job, ctx.owner, { signal: shutdown.signal });
      await this.#record(job, result.job, (performance.now() - started) / 1000);
    } finally {
      ctx.signal.removeEventListener('abort', forward);
    }
  }

  async #record(before: SyncJob, after: SyncJob | null, seconds: number): Promise<void> {
    if (!this.#metrics) return;
    const { db, metrics } = this.#metrics;
    const instance = await db
      .selectFrom('instances')
      .select('channel')
      .where('id', '=', before.instance_id)
      .executeTakeFirst()
      .catch(() => undefined);
    metrics.jobRunEnded({ channel: instance?.channel ?? 'unknown', before, after, seconds });
  }
}
