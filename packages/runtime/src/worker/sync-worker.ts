import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database, SyncJob } from '@omni/db';
import { type JobRepository, type Logger, leaseOf } from '@omni/sync-core';
import type { Kysely } from 'kysely';
import type { JobDelivery, JobQueue, QueueConsumer } from '../queue/job-queue.ts';
import type { JobExecutor, StopReason } from './job-executor.ts';
import type { JobPlacement } from './job-placement.ts';

/** Options of {@link SyncWorker}. */
export interface SyncWorkerOptions {
  /**
   * Worker id written as the lease owner.
   * @defaultValue `${hostname}-${pid}-${random}`
   */
  id?: string;
  /**
   * Jobs run at once by this worker (each for a different instance).
   * @defaultValue 4
   */
  concurrency?: number;
  /**
   * Lease length; renewed every third of it while a job runs.
   * @defaultValue 30_000
   */
  leaseMs?: number;
  /**
   * Delay before a ticket this worker may not run (see {@link JobPlacement}) is delivered again, in
   * ms; multiplied by the ticket's delivery count, up to `placementRetryMaxMs`.
   * @defaultValue 500
   */
  placementRetryMs?: number;
  /**
   * Longest delay before a declined ticket is delivered again, in ms.
   * @defaultValue 5_000
   */
  placementRetryMaxMs?: number;
  /**
   * Deliveries after which a ticket still declined is dropped instead of given back: the reaper
   * rings its job again while it is pending, so tickets of a job no worker can run yet do not pile up.
   * @defaultValue 20
   */
  placementMaxDeliveries?: number;
}

/** Defaults of {@link SyncWorkerOptions}. */
export const DEFAULT_SYNC_WORKER_OPTIONS = {
  id: '',
  concurrency: 4,
  leaseMs: 30_000,
  placementRetryMs: 500,
  placementRetryMaxMs: 5_000,
  placementMaxDeliveries: 20,
} satisfies Required<SyncWorkerOptions>;

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Takes tickets from the queue, claims their jobs in the database under a lease, runs them with the
 * executor while renewing the lease (and telling the queue it is `working()`), and gives the job
 * back on shutdown. The database decides: a ticket for a job that is not claimable is acked; when a
 * job ends, the next pending job of its instance is rung. With a {@link JobPlacement}, a ticket whose
 * job must run elsewhere (a WhatsApp session held by another worker) is not claimed but given back
 * with a delay that grows with its deliveries, so it reaches the right worker without spinning.
 */
export class SyncWorker {
  readonly id: string;
  readonly #options: Required<SyncWorkerOptions>;
  readonly #running = new Map<string, AbortController>();
  #consumer: QueueConsumer | null = null;
  #stopping = false;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      jobs: JobRepository;
      queue: JobQueue;
      executor: JobExecutor;
      log: Logger;
      /** Where jobs may run; absent → any job runs here. */
      placement?: JobPlacement;
    },
    options: SyncWorkerOptions = {},
  ) {
    this.#options = { ...DEFAULT_SYNC_WORKER_OPTIONS, ...options };
    this.id = this.#options.id || `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  /** Jobs this worker runs now. */
  get runningJobIds(): string[] {
    return [...this.#running.keys()];
  }

  /** Starts consuming tickets. */
  async start(): Promise<void> {
    this.#consumer = await this.deps.queue.consume((delivery) => this.#handle(delivery), {
      concurrency: this.#options.concurrency,
    });
  }

  /**
   * Graceful stop: no new tickets; running jobs are asked to checkpoint and stop, then their leases
   * are released so another worker continues them.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const controller of this.#running.values()) controller.abort('shutdown' satisfies StopReason);
    await this.#consumer?.stop();
  }

  async #handle(delivery: JobDelivery): Promise<void> {
    const { jobId } = delivery.ticket;
    if (this.#stopping) {
      await delivery.retry(0);
      return;
    }
    if (!(await this.#mayRun(delivery))) {
      const { placementRetryMs, placementRetryMaxMs, placementMaxDeliveries } = this.#options;
      if (delivery.deliveryCount >= placementMaxDeliveries) {
        await delivery.ack();
        return;
      }
      const delayMs = Math.min(placementRetryMaxMs, placementRetryMs * Math.max(1, delivery.deliveryCount));
      await delivery.retry(delayMs);
      return;
    }
    const job = await this.deps.jobs.claimJob(jobId, this.id, this.#options.leaseMs);
    if (!job) {
      // Not claimable: finished, leased by a live worker, or queued behind its instance's running
      // job. The ticket is dropped: the running job's end rings the next one, and the reaper rings
      // any pending job left without a running one — so waiting jobs do not pile up tickets.
      await delivery.ack();
      return;
    }
    await this.#run(job, delivery);
  }

  async #mayRun(delivery: JobDelivery): Promise<boolean> {
    const placement = this.deps.placement;
    if (!placement) return true;
    try {
      if (await placement.canRun(delivery.ticket)) return true;
      this.deps.log.debug(
        { ...delivery.ticket, worker: this.id, deliveries: delivery.deliveryCount },
        'job belongs to another worker: ticket given back',
      );
    } catch (error) {
      this.deps.log.warn({ ...delivery.ticket, err: error }, 'job placement unknown: ticket given back');
    }
    return false;
  }

  async #run(job: SyncJob, delivery: JobDelivery): Promise<void> {
    const controller = new AbortController();
    this.#running.set(job.id, controller);
    const log = this.deps.log;
    const lease = leaseOf(job);
    const heartbeat = setInterval(
      () => {
        delivery.working();
        this.deps.jobs
          .renewLease(lease, this.#options.leaseMs)
          .then((state) => {
            if (state.cancelRequested && !controller.signal.aborted)
              controller.abort('cancel' satisfies StopReason);
          })
          .catch((error: unknown) => {
            if ((error as { code?: string }).code === 'LEASE_LOST') {
              log.warn({ jobId: job.id, worker: this.id }, 'lease lost: stopping the job here');
              if (!controller.signal.aborted) controller.abort('lease-lost' satisfies StopReason);
            } else {
              log.warn({ jobId: job.id, err: error }, 'lease renewal failed; will retry');
            }
          });
      },
      Math.max(50, Math.floor(this.#options.leaseMs / 3)),
    );
    try {
      log.info(
        { jobId: job.id, instanceId: job.instance_id, type: job.type, attempt: job.attempts },
        'job claimed',
      );
      await this.deps.executor.execute(job, { owner: this.id, signal: controller.signal });
    } catch (error) {
      log.error({ jobId: job.id, err: error }, 'executor threw; failing the job');
      await this.deps.jobs
        .failJob(job.id, (error as Error).message ?? 'worker error', { lease })
        .catch(() => {});
    } finally {
      clearInterval(heartbeat);
      this.#running.delete(job.id);
    }
    const after = await this.deps.jobs.findJob(job.id).catch(() => null);
    const stillHeld =
      after?.status === 'running' && after.lease_owner === this.id && after.lease_epoch === lease.epoch;
    if (stillHeld) await this.deps.jobs.releaseLease(lease).catch(() => false);
    if (after?.status === 'pending' || stillHeld) {
      log.info({ jobId: job.id }, 'job released for another worker');
      await delivery.retry(0);
    } else {
      await delivery.ack();
    }
    if (after && TERMINAL.has(after.status)) await this.#dispatchNext(job.instance_id);
  }

  /** Rings for the oldest pending job of the instance, queued behind the one that just ended. */
  async #dispatchNext(instanceId: string): Promise<void> {
    const next = await this.deps.db
      .selectFrom('sync_jobs')
      .select('id')
      .where('instance_id', '=', instanceId)
      .where('status', '=', 'pending')
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst()
      .catch(() => undefined);
    if (next) await this.deps.queue.dispatch({ jobId: next.id, instanceId }).catch(() => {});
  }
}
