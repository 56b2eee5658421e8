import type { Database, SettingsService } from '@omni/db';
import type { JobRepository, Logger } from '@omni/sync-core';
import type { Kysely } from 'kysely';
import type { JobQueue } from '../queue/job-queue.ts';

/** Services a {@link CatchupTrigger} uses. */
export interface CatchupTriggerDeps {
  db: Kysely<Database>;
  settings: Pick<SettingsService, 'get'>;
  jobs: JobRepository;
  queue: JobQueue;
  log: Logger;
}

/** Why an instance is caught up (logged). */
export type CatchupReason = 'start-up' | 'connect' | 'reconnect';

/**
 * Gap healing when an instance comes back (worker start, `connect`, a socket reconnect): with
 * `sync.catchup.enabled`, an instance with a coverage ledger gets a `catchup` job, which fills per
 * chat what is newer than its newest covered point. At most one is pending per instance — a
 * request while one waits returns it (a reconnect storm queues one job); a request while one runs
 * queues one behind it, since the running one's window ends before this reason arose.
 */
export class CatchupTrigger {
  readonly #deps: CatchupTriggerDeps;
  readonly #inFlight = new Map<string, Promise<string | null>>();

  constructor(deps: CatchupTriggerDeps) {
    this.#deps = deps;
  }

  /** Queues the instance's catch-up; the pending job's id, or `null` when none is due (disabled, nothing synced). */
  request(instanceId: string, reason: CatchupReason): Promise<string | null> {
    const pending = this.#inFlight.get(instanceId);
    if (pending) return pending;
    const run = this.#queue(instanceId, reason).finally(() => this.#inFlight.delete(instanceId));
    this.#inFlight.set(instanceId, run);
    return run;
  }

  async #queue(instanceId: string, reason: CatchupReason): Promise<string | null> {
    const { db, settings, jobs, queue, log } = this.#deps;
    if (!(await settings.get('sync.catchup.enabled'))) return null;
    const covered = await db
      .selectFrom('chat_coverage')
      .select('id')
      .where('instance_id', '=', instanceId)
      .limit(1)
      .executeTakeFirst();
    if (!covered) return null;
    const { job, created } = await jobs.createJob(instanceId, 'catchup', {}, { reuse: 'pending' });
    if (created) {
      await queue.dispatch({ jobId: job.id, instanceId });
      log.info({ instanceId, jobId: job.id, reason }, 'catch-up queued');
    }
    return job.id;
  }
}
