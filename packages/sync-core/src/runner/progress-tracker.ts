import type { SyncJob } from '@omni/db';
import type { EventSink, SyncEventType } from '../events/sync-event.ts';
import type { JobRepository } from '../jobs/job-repository.ts';
import type { JobLease } from '../jobs/job-types.ts';
import { type ProgressCounter, readProgress, type SyncProgress } from '../jobs/sync-progress.ts';
import type { Clock } from '../rate-limit/clock.ts';
import type { RateLimitWait } from '../rate-limit/rate-limiter.ts';

/** What the tracker needs to know about the job's time window. */
export interface TrackerWindow {
  since: number | null;
  until: number;
}

/** A wait longer than this is announced as `sync.paused`. */
export const PAUSE_EVENT_MIN_MS = 2000;

/**
 * Keeps what is not in the database yet (rate-limit waits, per-chat position for the ETA) and
 * emits events: `sync.progress` at most once per `intervalMs`, `sync.paused` when a rate-limit
 * wait longer than 2 s begins. Counters themselves are always read back from the job row, where
 * they are committed with the batches they count.
 */
export class ProgressTracker {
  readonly #job: SyncJob;
  readonly #lease: JobLease;
  readonly #jobs: JobRepository;
  readonly #events: EventSink;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #startedAt: number;
  #lastEmit = Number.NEGATIVE_INFINITY;
  #waits = 0;
  #waitMs = 0;
  #window: TrackerWindow | null = null;
  readonly #chatOldest = new Map<string, number>();
  readonly #chatsFinished = new Set<string>();
  #chatsTotal = 0;
  /** Messages expected in the whole job (`null`: no estimate) and fetched before this run. */
  #estimatedTotal: number | null = null;
  #fetchedBefore = 0;
  #fetchedThisRun = 0;

  constructor(
    job: SyncJob,
    deps: {
      /** The run's lease: the tracker's writes are fenced by it. */
      lease: JobLease;
      jobs: JobRepository;
      events: EventSink;
      clock: Clock;
      intervalMs: number;
      onError: (error: unknown) => void;
    },
  ) {
    this.#job = job;
    this.#lease = deps.lease;
    this.#jobs = deps.jobs;
    this.#events = deps.events;
    this.#clock = deps.clock;
    this.#intervalMs = deps.intervalMs;
    this.#onError = deps.onError;
    this.#startedAt = deps.clock.now();
  }

  /**
   * Counts a rate-limit wait (token or cooldown) as it begins, and emits `sync.paused` when it is
   * longer than 2 s; transient backoffs are not rate-limit waits.
   */
  addWait(wait: RateLimitWait): void {
    if (wait.reason === 'transient') return;
    this.#waits += 1;
    this.#waitMs += Math.round(wait.ms);
    if (wait.ms > PAUSE_EVENT_MIN_MS) {
      const until = wait.pausedUntil ?? this.#clock.now() + wait.ms;
      void this.emit('sync.paused', undefined, undefined, {
        until: new Date(until).toISOString(),
        reason: wait.reason,
      });
    }
  }

  /** Takes the waits not yet written, to add them in the next batch transaction. */
  takeWaits(): Partial<Record<ProgressCounter, number>> {
    const taken = { rateLimitWaits: this.#waits, rateLimitWaitMs: this.#waitMs };
    this.#waits = 0;
    this.#waitMs = 0;
    return taken;
  }

  /** Puts waits back when the transaction that carried them failed. */
  restoreWaits(taken: Partial<Record<ProgressCounter, number>>): void {
    this.#waits += taken.rateLimitWaits ?? 0;
    this.#waitMs += taken.rateLimitWaitMs ?? 0;
  }

  /** Sets the window and chat count used for the ETA. */
  setPlan(window: TrackerWindow, chatsTotal: number, finished: readonly string[]): void {
    this.#window = window;
    this.#chatsTotal = chatsTotal;
    for (const id of finished) this.#chatsFinished.add(id);
  }

  /**
   * Sets the job's expected message count (`null`: none) and what was fetched before this run, so
   * the ETA is the remaining count at the rate observed in this run.
   */
  setEstimate(estimatedTotal: number | null, fetchedBefore: number): void {
    this.#estimatedTotal = estimatedTotal;
    this.#fetchedBefore = fetchedBefore;
  }

  /** Notes how far back a chat got, and how many messages its batch fetched. */
  onBatch(chatId: string, oldest: number | null, finished: boolean, fetched = 0): void {
    this.#fetchedThisRun += fetched;
    if (oldest !== null)
      this.#chatOldest.set(chatId, Math.min(this.#chatOldest.get(chatId) ?? oldest, oldest));
    if (finished) this.#chatsFinished.add(chatId);
  }

  /**
   * Estimated seconds left: with an estimated total, the messages still expected at the rate
   * observed in this run; else (or once more was fetched than expected) from the share of the
   * window covered so far; `null` when unknown.
   */
  etaSeconds(): number | null {
    const elapsedMs = this.#clock.now() - this.#startedAt;
    if (this.#estimatedTotal !== null && this.#fetchedThisRun > 0 && elapsedMs > 0) {
      const remaining = this.#estimatedTotal - this.#fetchedBefore - this.#fetchedThisRun;
      if (remaining > 0) return Math.round((remaining * elapsedMs) / this.#fetchedThisRun / 1000);
    }
    return this.#windowShareEta();
  }

  #windowShareEta(): number | null {
    if (!this.#window || this.#chatsTotal === 0) return null;
    const { since, until } = this.#window;
    let covered = this.#chatsFinished.size;
    if (since !== null && until > since) {
      for (const [chat, oldest] of this.#chatOldest) {
        if (!this.#chatsFinished.has(chat))
          covered += Math.min(1, Math.max(0, (until - oldest) / (until - since)));
      }
    }
    const fraction = covered / this.#chatsTotal;
    const elapsed = (this.#clock.now() - this.#startedAt) / 1000;
    if (fraction >= 1) return 0;
    if (fraction <= 0 || elapsed <= 0) return null;
    return Math.round((elapsed * (1 - fraction)) / fraction);
  }

  /** Writes pending waits and the ETA (0 once `finished`), and returns the job's progress. */
  async flush(finished = false): Promise<SyncProgress> {
    const waits = this.takeWaits();
    try {
      const etaSeconds = finished ? 0 : this.etaSeconds();
      return await this.#jobs.updateProgress(this.#lease, { etaSeconds }, { counters: waits });
    } catch (error) {
      this.restoreWaits(waits);
      throw error;
    }
  }

  /** Emits `sync.progress` when the last one is older than the interval (or `force`). */
  async maybeEmit(force = false): Promise<void> {
    const now = this.#clock.now();
    if (!force && now - this.#lastEmit < this.#intervalMs) return;
    this.#lastEmit = now;
    await this.emit('sync.progress', await this.flush());
  }

  /** Emits one event; sink errors are reported to `onError`, never thrown. */
  async emit(
    type: SyncEventType,
    progress?: SyncProgress,
    error?: string,
    pause?: { until: string; reason: string },
  ): Promise<void> {
    try {
      const p = progress ?? readProgress((await this.#jobs.getJob(this.#job.id)).progress);
      await this.#events.emit({
        type,
        jobId: this.#job.id,
        instanceId: this.#job.instance_id,
        jobType: this.#job.type,
        progress: p,
        at: new Date(this.#clock.now()).toISOString(),
        ...(error !== undefined ? { error } : {}),
        ...(pause ?? {}),
      });
    } catch (e) {
      this.#onError(e);
    }
  }
}
