import type { EventSubscription, SyncEvent } from '@omni/runtime';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../errors/api-error.ts';
import { eventFromJob, terminalEventOf } from './job-event.ts';

/** Options of {@link JobEventHub}. */
export interface JobEventHubOptions {
  /**
   * Event streams open at once for one instance (in this process); one more answers 429.
   * @defaultValue 50
   */
  maxStreamsPerInstance?: number;
  /**
   * Event streams open at once in this process; one more answers 429.
   * @defaultValue 1000
   */
  maxStreams?: number;
  /**
   * A `: ping` comment is sent this often so proxies keep the streams open.
   * @defaultValue 15_000
   */
  heartbeatMs?: number;
  /**
   * The job row is re-read this often (once per job, however many listen), so the streams end
   * even if a terminal event was lost.
   * @defaultValue 2_000
   */
  pollMs?: number;
}

/** Defaults of {@link JobEventHubOptions}. */
export const DEFAULT_JOB_EVENT_HUB_OPTIONS = {
  maxStreamsPerInstance: 50,
  maxStreams: 1000,
  heartbeatMs: 15_000,
  pollMs: 2_000,
} satisfies Required<JobEventHubOptions>;

/** `Retry-After` of a refused stream: streams end with their job, so a slot frees within minutes. */
const STREAM_RETRY_AFTER_SECONDS = 10;

/** One open stream, as the hub sees it. */
export interface JobEventListener {
  /** An event of the job (live from the bus, or the terminal state found by the poll). */
  event(event: SyncEvent): void;
  /** Time to send a keep-alive comment. */
  ping(): void;
  /** The job no longer exists (its instance was deleted). */
  gone(): void;
}

interface JobChannel {
  listeners: Set<JobEventListener>;
  subscription: Promise<EventSubscription>;
  timers: ReturnType<typeof setInterval>[];
}

/**
 * Every job event stream of the process: caps the streams per instance and in total (429 with
 * `Retry-After` past them), and shares one bus subscription, one poll of the job row and one
 * heartbeat timer per job among all its listeners.
 */
export class JobEventHub {
  readonly #deps: AppDeps;
  readonly #options: Required<JobEventHubOptions>;
  readonly #channels = new Map<string, JobChannel>();
  readonly #perInstance = new Map<string, number>();
  #open = 0;

  constructor(deps: AppDeps, options: JobEventHubOptions = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_JOB_EVENT_HUB_OPTIONS, ...options };
  }

  /** Streams open now: in total, and for one instance. */
  get openStreams(): number {
    return this.#open;
  }

  /** Streams open now for `instanceId`. */
  openStreamsOf(instanceId: string): number {
    return this.#perInstance.get(instanceId) ?? 0;
  }

  /** Bus subscriptions (one per followed job) held now. */
  get followedJobs(): number {
    return this.#channels.size;
  }

  /**
   * Takes a stream slot for the instance, or throws a 429 naming the limit. Call the returned
   * function exactly once when the stream ends.
   */
  reserve(instanceId: string): () => void {
    const { maxStreams, maxStreamsPerInstance } = this.#options;
    const retry = { headers: { 'retry-after': String(STREAM_RETRY_AFTER_SECONDS) } };
    if (this.#open >= maxStreams) {
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `too many event streams open on this server (limit ${maxStreams}): close one or poll GET /instances/:id/sync/:jobId`,
        { ...retry, details: { limit: maxStreams, scope: 'server' } },
      );
    }
    const mine = this.openStreamsOf(instanceId);
    if (mine >= maxStreamsPerInstance) {
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `too many event streams open for this instance (limit ${maxStreamsPerInstance}): close one or poll GET /instances/:id/sync/:jobId`,
        { ...retry, details: { limit: maxStreamsPerInstance, scope: 'instance' } },
      );
    }
    this.#open += 1;
    this.#perInstance.set(instanceId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open -= 1;
      const left = (this.#perInstance.get(instanceId) ?? 1) - 1;
      if (left > 0) this.#perInstance.set(instanceId, left);
      else this.#perInstance.delete(instanceId);
    };
  }

  /**
   * Adds a listener to the job's events; resolves once the job's bus subscription is live (events
   * published after that reach it). The returned function removes it; the last one out closes the
   * subscription and the job's timers.
   */
  async listen(jobId: string, listener: JobEventListener): Promise<() => void> {
    let channel = this.#channels.get(jobId);
    if (!channel) {
      const listeners = new Set<JobEventListener>();
      const subscription = this.#deps.events.subscribe({ jobId }, (event) => {
        for (const l of [...listeners]) l.event(event);
      });
      const created: JobChannel = { listeners, subscription, timers: [] };
      channel = created;
      this.#channels.set(jobId, created);
      created.timers.push(
        setInterval(() => {
          for (const l of [...listeners]) l.ping();
        }, this.#options.heartbeatMs),
        setInterval(() => void this.#poll(jobId, created), this.#options.pollMs),
      );
      subscription.catch(() => this.#drop(jobId, created));
    }
    channel.listeners.add(listener);
    const joined = channel;
    try {
      await joined.subscription;
    } catch (error) {
      joined.listeners.delete(listener);
      throw error;
    }
    return () => {
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0) this.#drop(jobId, joined);
    };
  }

  /** Closes every subscription and timer (the app is closing). */
  async close(): Promise<void> {
    for (const [jobId, channel] of [...this.#channels]) this.#drop(jobId, channel);
  }

  async #poll(jobId: string, channel: JobChannel): Promise<void> {
    try {
      const row = await this.#deps.jobs.findJob(jobId);
      if (this.#channels.get(jobId) !== channel) return;
      if (!row) {
        for (const l of [...channel.listeners]) l.gone();
        return;
      }
      const type = terminalEventOf(row.status);
      if (type) {
        const event = eventFromJob(row, type);
        for (const l of [...channel.listeners]) l.event(event);
      }
    } catch {
      // The next poll tries again; live events still flow.
    }
  }

  #drop(jobId: string, channel: JobChannel): void {
    if (this.#channels.get(jobId) !== channel) return;
    this.#channels.delete(jobId);
    for (const timer of channel.timers) clearInterval(timer);
    void channel.subscription.then((s) => s.close()).catch(() => {});
  }
}
