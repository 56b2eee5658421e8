import type { SyncJob } from '@omni/db';
import {
  type PlatformRequestOutcome,
  readProgress,
  type SyncMetrics,
  type SyncProgress,
} from '@omni/sync-core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the queue can tell about its backlog (JetStream: the consumer's counters). */
export interface QueueStats {
  /** Tickets waiting to be delivered. */
  pending: number;
  /** Tickets delivered more than once so far (JetStream `num_redelivered`). */
  redelivered: number;
}

/** Media outcome counters of a job's progress, by the label they are exported under. */
const MEDIA_OUTCOMES = [
  ['downloaded', 'mediaDownloaded'],
  ['skipped', 'mediaSkipped'],
  ['failed', 'mediaFailed'],
] as const satisfies readonly (readonly [string, keyof SyncProgress])[];

/**
 * A process's metrics in Prometheus' text format (prom-client), one registry per process (so a
 * test's several apps never share counters). It is sync-core's {@link SyncMetrics} (platform
 * requests, waits, batches) plus what the runtime sees: jobs ending, media outcomes, lease
 * takeovers, the queue's backlog and the API's HTTP latency. Every metric is documented in
 * `apps/api/README.md` (section Metrics).
 */
export class FleetMetrics implements SyncMetrics {
  /** The registry `/metrics` serialises. */
  readonly registry = new Registry();
  readonly #requests: Counter<'channel' | 'kind' | 'status'>;
  readonly #requestSeconds: Histogram<'channel' | 'kind'>;
  readonly #status429: Counter<'channel'>;
  readonly #waits: Counter<'channel' | 'kind' | 'reason'>;
  readonly #waitSeconds: Counter<'channel' | 'kind' | 'reason'>;
  readonly #messages: Counter<'channel' | 'outcome'>;
  readonly #mediaFiles: Counter<'channel' | 'outcome'>;
  readonly #mediaBytes: Counter<'channel'>;
  readonly #jobSeconds: Histogram<'type' | 'status'>;
  readonly #leaseTakeovers: Counter;
  readonly #http: Histogram<'method' | 'route' | 'status'>;
  #queueStats: (() => Promise<QueueStats | null>) | null = null;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'omni_platform_requests_total',
      help: 'Platform requests made through the engine, by channel, request kind and status (ok, rate_limited, error).',
      labelNames: ['channel', 'kind', 'status'],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: 'omni_platform_request_duration_seconds',
      help: 'Time of one platform request (after any wait), by channel and kind.',
      labelNames: ['channel', 'kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#status429 = new Counter({
      name: 'omni_platform_429_total',
      help: 'Platform answers that said "slow down" (HTTP 429 or the platform\'s equivalent), by channel.',
      labelNames: ['channel'],
      registers,
    });
    this.#waits = new Counter({
      name: 'omni_rate_limit_waits_total',
      help: 'Times the engine held a request back, by reason: token (budget), cooldown (after a 429), transient (backoff after an error).',
      labelNames: ['channel', 'kind', 'reason'],
      registers,
    });
    this.#waitSeconds = new Counter({
      name: 'omni_rate_limit_wait_seconds_total',
      help: 'Seconds requests were held back, by reason; reason="cooldown" is the time spent in 429 cooldowns.',
      labelNames: ['channel', 'kind', 'reason'],
      registers,
    });
    this.#messages = new Counter({
      name: 'omni_messages_total',
      help: 'Messages of committed batches, by outcome: fetched, stored (new rows), duplicates (already stored), updated (edits and deletes applied).',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.#mediaFiles = new Counter({
      name: 'omni_media_files_total',
      help: 'Media files of finished jobs, by outcome: downloaded, skipped, failed (counted when the job run ends).',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.#mediaBytes = new Counter({
      name: 'omni_media_bytes_total',
      help: 'Bytes of media stored (counted when the job run ends).',
      labelNames: ['channel'],
      registers,
    });
    this.#jobSeconds = new Histogram({
      name: 'omni_job_duration_seconds',
      help: 'Duration of job runs in this process, by job type and the status the run left the job in (completed, failed, cancelled, pending when checkpointed for another worker).',
      labelNames: ['type', 'status'],
      buckets: [1, 5, 15, 60, 300, 900, 3600, 14400, 86400],
      registers,
    });
    this.#leaseTakeovers = new Counter({
      name: 'omni_lease_takeovers_total',
      help: 'Running jobs whose lease expired (their worker died or stalled) and that were handed to another worker.',
      registers,
    });
    this.#http = new Histogram({
      name: 'omni_http_request_duration_seconds',
      help: 'API request latency, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'omni_queue_pending',
      help: 'Job tickets waiting in the queue (JetStream consumer num_pending; the in-process queue its backlog).',
      registers,
      async collect() {
        const stats = await metrics.#queueStats?.().catch(() => null);
        if (stats) this.set(stats.pending);
      },
    });
    new Gauge({
      name: 'omni_queue_redelivered',
      help: 'Job tickets delivered more than once (JetStream consumer num_redelivered).',
      registers,
      async collect() {
        const stats = await metrics.#queueStats?.().catch(() => null);
        if (stats) this.set(stats.redelivered);
      },
    });
  }

  /** Where the queue gauges read from (set once the queue is open). */
  observeQueue(stats: () => Promise<QueueStats | null>): void {
    this.#queueStats = stats;
  }

  platformRequest(event: {
    channel: string;
    kind: string;
    outcome: PlatformRequestOutcome;
    seconds: number;
  }): void {
    this.#requests.inc({ channel: event.channel, kind: event.kind, status: event.outcome });
    this.#requestSeconds.observe({ channel: event.channel, kind: event.kind }, event.seconds);
    if (event.outcome === 'rate_limited') this.#status429.inc({ channel: event.channel });
  }

  rateLimitWait(event: { channel: string; kind: string; reason: string; seconds: number }): void {
    const labels = { channel: event.channel, kind: event.kind, reason: event.reason };
    this.#waits.inc(labels);
    this.#waitSeconds.inc(labels, event.seconds);
  }

  batchCommitted(event: {
    channel: string;
    fetched: number;
    stored: number;
    duplicates: number;
    updated: number;
  }): void {
    for (const outcome of ['fetched', 'stored', 'duplicates', 'updated'] as const) {
      if (event[outcome] > 0) this.#messages.inc({ channel: event.channel, outcome }, event[outcome]);
    }
  }

  /**
   * A job run ended in this process: its duration, and the media its run finished (the progress
   * it ended with, less what it had when the run began, so a resumed job is not counted twice).
   */
  jobRunEnded(event: { channel: string; before: SyncJob; after: SyncJob | null; seconds: number }): void {
    const status = event.after?.status ?? 'unknown';
    this.#jobSeconds.observe({ type: event.before.type, status }, event.seconds);
    if (!event.after) return;
    const was = readProgress(event.before.progress);
    const now = readProgress(event.after.progress);
    for (const [outcome, key] of MEDIA_OUTCOMES) {
      const delta = (now[key] as number) - (was[key] as number);
      if (delta > 0) this.#mediaFiles.inc({ channel: event.channel, outcome }, delta);
    }
    const bytes = now.mediaBytes - was.mediaBytes;
    if (bytes > 0) this.#mediaBytes.inc({ channel: event.channel }, bytes);
  }

  /** Running jobs whose lease expired were handed on (the reaper re-dispatched them). */
  leaseTakeovers(count: number): void {
    if (count > 0) this.#leaseTakeovers.inc(count);
  }

  /** One API request answered. */
  httpRequest(event: { method: string; route: string; status: number; seconds: number }): void {
    this.#http.observe(
      { method: event.method, route: event.route, status: String(event.status) },
      event.seconds,
    );
  }

  /** The text `/metrics` answers, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
