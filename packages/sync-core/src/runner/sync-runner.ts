import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { SyncJob, SyncJobType } from '@omni/db';
import type { ChannelPlugin, SyncPart } from '../contract/channel-plugin.ts';
import { CancelledError } from '../errors/cancelled-error.ts';
import { LeaseLostError } from '../errors/lease-lost-error.ts';
import { PermanentError } from '../errors/permanent-error.ts';
import type { EventSink } from '../events/sync-event.ts';
import { JobRepository } from '../jobs/job-repository.ts';
import { type JobLease, leaseOf, type SyncJobConfig } from '../jobs/job-types.ts';
import { MediaOutcomeCounter } from '../jobs/media-outcome-counter.ts';
import { type PartStatus, readProgress } from '../jobs/sync-progress.ts';
import { MediaFetcher } from '../media/media-fetcher.ts';
import { MediaQueue, type MediaTaskOutcome } from '../media/media-queue.ts';

import { DedupeWriter } from '../storage/dedupe-writer.ts';
import { DirectoryWriter } from '../storage/directory-writer.ts';
import { syncContacts, syncGroups, syncProfile } from './directory-sync.ts';
import type { JobRun, StopReason } from './job-run.ts';
import { syncMessages } from './message-sync.ts';
import { PluginContextFactory } from './plugin-context-factory.ts';
import { ProgressTracker } from './progress-tracker.ts';
import { StopSignal } from './stop-signal.ts';
import {
  DEFAULT_SYNC_RUNNER_OPTIONS,
  type RunOptions,
  type RunResult,
  type SyncRunnerOptions,
} from './sync-runner-options.ts';

const PART_ORDER: readonly SyncPart[] = ['profile', 'messages', 'contacts', 'groups'];

function partsFor(type: SyncJobType, plugin: ChannelPlugin): { run: SyncPart[]; unsupported: SyncPart[] } {
  const supported = new Set(plugin.capabilities.parts);
  const wanted: SyncPart[] = type === 'all' ? [...PART_ORDER] : type === 'catchup' ? ['messages'] : [type];
  return {
    run: wanted.filter((p) => supported.has(p)),
    unsupported: wanted.filter((p) => !supported.has(p)),
  };
}

/** A worker id: host, pid and a random suffix. */
export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Runs claimed sync jobs: profile, messages (chats concurrently, each from its checkpoint, batches
 * written by the dedupe writer), contacts and groups; media through a bounded queue; the lease
 * renewed while it runs; cancel honoured between batches; events through an {@link EventSink}.
 * A job whose worker died is claimed again and continues from its last committed batch.
 *
 * @example
 * ```ts
 * const runner = new SyncRunner({ db, plugins, limiter, settings, events });
 * const result = await runner.runNext('worker-1'); // claim the next job and run it
 * ```
 */
export class SyncRunner {
  readonly #o: Required<Omit<SyncRunnerOptions, 'jobs' | 'writer'>>;
  readonly #jobs: JobRepository;
  readonly #writer: DedupeWriter;
  readonly #mediaOutcomes: MediaOutcomeCounter;
  readonly #contexts: PluginContextFactory;
  readonly #directory = new DirectoryWriter();
  /** `chatConcurrency` was given: the `sync.chatConcurrency` setting is not read. */
  readonly #fixedChatConcurrency: boolean;

  constructor(options: SyncRunnerOptions) {
    const { jobs, writer, ...rest } = options;
    this.#fixedChatConcurrency = options.chatConcurrency !== undefined;
    this.#o = { ...DEFAULT_SYNC_RUNNER_OPTIONS, ...rest };
    this.#jobs = jobs ?? new JobRepository(options.db);
    this.#writer = writer ?? new DedupeWriter(options.db);
    this.#mediaOutcomes = new MediaOutcomeCounter(options.db, this.#jobs);
    this.#contexts = new PluginContextFactory({
      limiter: options.limiter,
      cipher: this.#o.cipher,
      logger: this.#o.logger,
      mediaFetcher: this.#o.mediaFetcher ?? new MediaFetcher({ settings: this.#o.settings }),
      metrics: this.#o.metrics,
    });
  }

  /** The job repository the runner uses. */
  get jobs(): JobRepository {
    return this.#jobs;
  }

  /** Claims the next runnable job and runs it; `null` when there is none. */
  async runNext(owner: string = defaultWorkerId(), options: RunOptions = {}): Promise<RunResult | null> {
    const job = await this.#jobs.claimNext(owner, this.#o.leaseMs);
    return job ? this.run(job, owner, options) : null;
  }

  /** Claims one job by id and runs it; `null` when it cannot be claimed now. */
  async runJob(
    jobId: string,
    owner: string = defaultWorkerId(),
    options: RunOptions = {},
  ): Promise<RunResult | null> {
    const job = await this.#jobs.claimJob(jobId, owner, this.#o.leaseMs);
    return job ? this.run(job, owner, options) : null;
  }

  /**
   * Runs a job as returned by `claimJob`/`claimNext` (its row carries the lease: owner and epoch).
   * Every write of the run is fenced by that lease; once it is taken over, the run stops as
   * `lease-lost` without writing anything more.
   */
  async run(job: SyncJob, owner: string, options: RunOptions = {}): Promise<RunResult> {
    const o = this.#o;
    const log = o.logger;
    if (job.lease_owner !== owner) throw new Error(`job ${job.id} is not claimed by ${owner}`);
    const lease = leaseOf(job);
    const instance = await o.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', job.instance_id)
      .executeTakeFirst();
    if (!instance) return this.#fail(job, lease, `instance ${job.instance_id} no longer exists`);
    let plugin: ChannelPlugin;
    try {
      plugin = o.plugins.get(instance.channel);
    } catch (error) {
      return this.#fail(job, lease, (error as Error).message);
    }

    const stop = new AbortController();
    const mediaStop = new AbortController();
    let stopReason: StopReason | null = null;
    const requestStop = (reason: StopReason) => {
      stopReason ??= reason;
      if (!stop.signal.aborted) stop.abort(new CancelledError(`sync ${reason}`));
      // Downloads in flight end with the run (a tarpit must not hold a cancelled job), except when
      // another chat failed: media already queued is still stored before the job fails.
      if (reason !== 'error') mediaStop.abort(new CancelledError(`media ${reason}`));
    };
    const onShutdown = () => {
      const why = options.signal?.reason;
      requestStop(
        why === 'cancel' || why === 'cancelled'
          ? 'cancelled'
          : why === 'lease-lost'
            ? 'lease-lost'
            : 'shutdown',
      );
    };
    options.signal?.addEventListener('abort', onShutdown, { once: true });
    if (options.signal?.aborted) onShutdown();

    const tracker = new ProgressTracker(job, {
      lease,
      jobs: this.#jobs,
      events: o.events,
      clock: o.clock,
      intervalMs: o.progressIntervalMs,
      onError: (error) => log.warn({ err: error, jobId: job.id }, 'sync event sink failed'),
    });
    const config = (job.config ?? {}) as SyncJobConfig;
    const ctx = this.#contexts.create(instance, { signal: stop.signal, onWait: (w) => tracker.addWait(w) });
    const mediaCtx = this.#contexts.create(instance, {
      signal: mediaStop.signal,
      onWait: (w) => tracker.addWait(w),
    });
    const mediaFailedIds = new Set<string>();
    const media = o.media
      ? new MediaQueue(o.media, {
          concurrency: o.mediaConcurrency,
          clock: o.clock,
          signal: mediaStop.signal,
          onOutcome: async (outcome) => {
            try {
              await this.#countMedia(lease, outcome, mediaFailedIds);
            } catch (error) {
              if (error instanceof LeaseLostError) requestStop('lease-lost');
              throw error;
            }
          },
        })
      : null;

    const run: JobRun = {
      job,
      config,
      lease,
      instance,
      plugin,
      ctx,
      mediaCtx,
      db: o.db,
      jobs: this.#jobs,
      writer: this.#writer,
      directory: this.#directory,
      limiter: o.limiter,
      settings: o.settings,
      tracker,
      clock: o.clock,
      media,
      mediaFailedIds,
      downloadMedia: instance.download_media_on_sync || config.downloadMedia === true,
      chatConcurrency:
        this.#fixedChatConcurrency || !o.settings
          ? o.chatConcurrency
          : await o.settings.get('sync.chatConcurrency'),
      maxChatRetries: o.maxChatRetries,
      retryBaseMs: o.retryBaseMs,
      onBatchCommitted: (info) => {
        o.metrics.batchCommitted({
          channel: plugin.id,
          fetched: info.fetched,
          stored: info.stored,
          duplicates: info.duplicates,
          updated: info.updated,
        });
        o.onBatchCommitted(info);
      },
      batches: 0,
      get stopReason() {
        return stopReason;
      },
      set stopReason(reason: StopReason | null) {
        if (reason) requestStop(reason);
      },
      checkStop: async () => {
        if (!stopReason && (await this.#jobs.isCancelRequested(job.id))) requestStop('cancelled');
        if (stopReason) throw new StopSignal(stopReason);
      },
    };

    let renewing = false;
    const renew = setInterval(
      async () => {
        if (renewing) return;
        renewing = true;
        try {
          const state = await this.#jobs.renewLease(lease, o.leaseMs);
          if (state.cancelRequested) requestStop('cancelled');
        } catch (error) {
          if (error instanceof LeaseLostError) requestStop('lease-lost');
          else log.warn({ err: error, jobId: job.id }, 'lease renewal failed');
        } finally {
          renewing = false;
        }
      },
      Math.max(10, Math.floor(o.leaseMs / 3)),
    );

    try {
      await tracker.emit('sync.started');
      const { run: parts, unsupported } = partsFor(job.type, plugin);
      if (job.type !== 'all' && unsupported.length > 0) {
        throw new PermanentError(`channel ${plugin.id} cannot sync ${job.type}`);
      }
      const done = readProgress(job.progress).parts;
      const statuses: Partial<Record<SyncPart, PartStatus>> = { ...done };
      for (const part of unsupported) statuses[part] = 'unsupported';
      for (const part of parts) {
        if (done[part] === 'done') continue;
        await run.checkStop();
        statuses[part] = 'running';
        await this.#jobs.updateProgress(lease, { parts: statuses });
        if (part === 'profile') await syncProfile(run);
        else if (part === 'messages') await syncMessages(run);
        else if (part === 'contacts') await syncContacts(run);
        else await syncGroups(run);
        statuses[part] = 'done';
        await this.#jobs.updateProgress(lease, { parts: statuses });
      }
      await media?.drain();
      await run.checkStop();
      await tracker.emit('sync.progress', await tracker.flush(true));
      const completed = await this.#jobs.completeJob(job.id, { lease });
      await tracker.emit('sync.completed', readProgress(completed.progress));
      return { status: 'completed', job: completed };
    } catch (error) {
      if (error instanceof LeaseLostError) requestStop('lease-lost');
      const leaseLost = () => {
        // Quiet: the job is someone else's now; nothing of this run is written any more.
        log.info({ jobId: job.id, owner, epoch: lease.epoch }, 'lease lost: another claim owns the job now');
        mediaStop.abort();
        return { status: 'lease-lost' as const, job: null };
      };
      if (error instanceof LeaseLostError || run.stopReason === 'lease-lost') return leaseLost();
      const reason: StopReason | null = run.stopReason === 'error' ? null : run.stopReason;
      try {
        if (reason !== 'shutdown') await media?.drain();
        await tracker.flush().catch(() => {});
        if (reason === 'shutdown') {
          await this.#jobs.releaseLease(lease);
          return { status: 'released', job: await this.#jobs.getJob(job.id) };
        }
        if (reason === 'cancelled') {
          const cancelled = await this.#jobs.markCancelled(job.id, { lease });
          await tracker.emit('sync.cancelled', readProgress(cancelled.progress));
          return { status: 'cancelled', job: cancelled };
        }
      } catch (stopError) {
        if (stopError instanceof LeaseLostError) return leaseLost();
        throw stopError;
      }
      const message = error instanceof Error ? error.message : String(error);
      log.error({ err: error, jobId: job.id }, 'sync job failed');
      return this.#fail(job, lease, message, tracker);
    } finally {
      clearInterval(renew);
      options.signal?.removeEventListener('abort', onShutdown);
    }
  }

  /**
   * Counts one media outcome in the job's progress, under the run's lease: once per item and job,
   * with its final outcome (a failure of an earlier run of the job is taken back when this run
   * stores or skips the item; see {@link MediaOutcomeCounter}).
   */
  async #countMedia(lease: JobLease, outcome: MediaTaskOutcome, failedIds: Set<string>): Promise<void> {
    // Media given up because the run stopped is no outcome: the next run's backfill stores it.
    if (outcome.status === 'cancelled') return;
    const messageId = outcome.task.messageId;
    if (outcome.status === 'stored') {
      await this.#mediaOutcomes.count(lease, messageId, {
        status: 'stored',
        bytes: outcome.result.deduplicated ? 0 : outcome.result.size,
      });
    } else if (outcome.status === 'skipped') {
      if (outcome.refusal) {
        this.#o.logger.info(
          { jobId: lease.jobId, messageId, reason: outcome.reason, err: outcome.refusal },
          'media refused',
        );
      }
      await this.#mediaOutcomes.count(lease, messageId, { status: 'skipped', reason: outcome.reason });
    } else {
      failedIds.add(messageId);
      this.#o.logger.warn({ err: outcome.error, jobId: lease.jobId, messageId }, 'media failed');
      await this.#mediaOutcomes.count(lease, messageId, { status: 'failed', reason: outcome.reason });
    }
  }

  async #fail(job: SyncJob, lease: JobLease, message: string, tracker?: ProgressTracker): Promise<RunResult> {
    try {
      const failed = await this.#jobs.failJob(job.id, message, { lease });
      if (tracker) await tracker.emit('sync.failed', readProgress(failed.progress), message);
      else
        await this.#o.events.emit({
          type: 'sync.failed',
          jobId: job.id,
          instanceId: job.instance_id,
          jobType: job.type,
          progress: readProgress(failed.progress),
          at: new Date(this.#o.clock.now()).toISOString(),
          error: message,
        });
      return { status: 'failed', job: failed, error: message };
    } catch (error) {
      if (error instanceof LeaseLostError) return { status: 'lease-lost', job: null, error: message };
      throw error;
    }
  }
}
