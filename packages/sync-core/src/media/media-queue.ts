import type { MediaDescriptor, NormalizedMessage } from '../contract/normalized-message.ts';
import { CancelledError } from '../errors/cancelled-error.ts';
import { MediaError } from '../errors/media-error.ts';
import { MediaRefusedError } from '../errors/media-refused-error.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { type Clock, systemClock } from '../rate-limit/clock.ts';
import type { MediaBytes } from './media-bytes.ts';
import type { MediaSkipReason, MediaStorageService, MediaStoreOutcome } from './media-storage.ts';

/** One media file to store. */
export interface MediaTask {
  instanceId: string;
  messageId: string;
  sentAt: number;
  descriptor: MediaDescriptor;
  message: NormalizedMessage;
  /** Fetches the bytes (through the rate limiter); absent when the descriptor carries base64. */
  fetch?: () => Promise<MediaBytes>;
}

/** What happened to one task, reported to `onOutcome`. */
export type MediaTaskOutcome =
  | { task: MediaTask; status: 'stored'; result: Extract<MediaStoreOutcome, { status: 'stored' }> }
  | {
      task: MediaTask;
      status: 'skipped';
      reason: MediaSkipReason;
      /** The media fetcher's refusal, when it refused the download (what and why, for the log). */
      refusal?: MediaRefusedError;
    }
  | { task: MediaTask; status: 'failed'; reason: string; error: unknown }
  /**
   * The queue was stopped (its signal aborted: shutdown, lost lease, cancel) before the task finished. Not a
   * result: nothing was stored for it and it is not counted; the message still has no file, so the
   * next run's backfill queues it again.
   */
  | { task: MediaTask; status: 'cancelled' };

/** Options of {@link MediaQueue}. */
export interface MediaQueueOptions {
  /**
   * Files stored at the same time.
   * @defaultValue 4
   */
  concurrency?: number;
  /**
   * Tasks waiting before `enqueue` blocks its caller (back-pressure on the sync).
   * @defaultValue 100
   */
  maxQueued?: number;
  /**
   * Attempts per task (retryable failures only).
   * @defaultValue 3
   */
  maxAttempts?: number;
  /**
   * Backoff before the 2nd attempt, ms; doubled per attempt.
   * @defaultValue 1000
   */
  retryBaseMs?: number;
  /**
   * Time source for backoff.
   * @defaultValue systemClock
   */
  clock?: Clock;
  /** Aborts waits and stops new work. */
  signal?: AbortSignal | null;
  /**
   * Called once per task with its outcome (count it in progress here; `cancelled` is no result).
   * @defaultValue no-op
   */
  onOutcome?: (outcome: MediaTaskOutcome) => void | Promise<void>;
}

/** Defaults of {@link MediaQueueOptions}. */
export const DEFAULT_MEDIA_QUEUE_OPTIONS = {
  concurrency: 4,
  maxQueued: 100,
  maxAttempts: 3,
  retryBaseMs: 1000,
  clock: systemClock,
  signal: null,
  onOutcome: () => {},
} satisfies Required<MediaQueueOptions>;

function retryable(error: unknown): boolean {
  if (error instanceof MediaError) return error.retryable;
  return (
    error instanceof TransientError ||
    error instanceof RateLimitedError ||
    !(error instanceof Error) ||
    !('code' in error)
  );
}

function reasonOf(error: unknown): string {
  if (error instanceof MediaError) return error.reason;
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code.toLowerCase().replaceAll('_', '-');
  }
  return 'download-failed';
}

/**
 * A bounded queue in front of {@link MediaStorageService}: a few files at a time, retries with
 * exponential backoff, and one outcome per task. Oversize or disallowed files, and downloads the
 * media fetcher refused (`MediaRefusedError`: scheme, host, address, redirect, timeout, size), are
 * `skipped` with their reason and never retried; failures after the last attempt are `failed`.
 * Neither fails the sync job.
 */
export class MediaQueue {
  readonly #storage: MediaStorageService;
  readonly #options: Required<MediaQueueOptions>;
  readonly #waiting: MediaTask[] = [];
  readonly #spaceWaiters: (() => void)[] = [];
  readonly #idleWaiters: (() => void)[] = [];
  #active = 0;

  constructor(storage: MediaStorageService, options: MediaQueueOptions = {}) {
    this.#storage = storage;
    this.#options = { ...DEFAULT_MEDIA_QUEUE_OPTIONS, ...options };
  }

  /** Tasks waiting or running. */
  get size(): number {
    return this.#waiting.length + this.#active;
  }

  /** Adds a task; waits while the queue is full. */
  async enqueue(task: MediaTask): Promise<void> {
    while (this.#waiting.length >= this.#options.maxQueued) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    this.#waiting.push(task);
    this.#pump();
  }

  /** Resolves when every task enqueued so far has an outcome. */
  async drain(): Promise<void> {
    if (this.size === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (this.#active < this.#options.concurrency && this.#waiting.length > 0) {
      const task = this.#waiting.shift() as MediaTask;
      this.#spaceWaiters.shift()?.();
      this.#active += 1;
      void this.#run(task).finally(() => {
        this.#active -= 1;
        this.#pump();
        if (this.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
      });
    }
  }

  async #run(task: MediaTask): Promise<void> {
    const { maxAttempts, retryBaseMs, clock, signal } = this.#options;
    let outcome: MediaTaskOutcome | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (signal?.aborted) throw new CancelledError('media queue stopped');
        const bytes = task.fetch && !task.descriptor.base64 ? await task.fetch() : undefined;
        const result = await this.#storage.store({
          instanceId: task.instanceId,
          messageId: task.messageId,
          sentAt: task.sentAt,
          descriptor: task.descriptor,
          ...(bytes ? { bytes } : {}),
        });
        outcome =
          result.status === 'stored'
            ? { task, status: 'stored', result }
            : { task, status: 'skipped', reason: result.reason };
        break;
      } catch (error) {
        if (error instanceof MediaRefusedError) {
          outcome = await this.#refused(task, error);
          break;
        }
        // Stopped (shutdown, lease lost): not a failure of the file, which is left for the next run.
        if (signal?.aborted) {
          outcome = { task, status: 'cancelled' };
          break;
        }
        if (error instanceof CancelledError || attempt >= maxAttempts || !retryable(error)) {
          outcome = { task, status: 'failed', reason: reasonOf(error), error };
          break;
        }
        try {
          await clock.sleep(retryBaseMs * 2 ** (attempt - 1), signal ?? undefined);
        } catch {
          outcome = { task, status: 'cancelled' };
          break;
        }
      }
    }
    await this.#report(outcome);
  }

  async #report(outcome: MediaTaskOutcome): Promise<void> {
    try {
      await this.#options.onOutcome(outcome);
    } catch {
      // Counting must not take the queue down; the outcome is already final.
    }
  }

  async #refused(task: MediaTask, refusal: MediaRefusedError): Promise<MediaTaskOutcome> {
    try {
      await this.#storage.recordRefusal(task, refusal.reason);
      return { task, status: 'skipped', reason: refusal.reason, refusal };
    } catch (error) {
      return { task, status: 'failed', reason: reasonOf(error), error };
    }
  }
}
