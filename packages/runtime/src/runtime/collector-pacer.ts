/** Options of {@link CollectorPacer}. */
export interface CollectorPacerOptions {
  /**
   * Least time between two collections, ms; `0` never collects (the runtime's own schedule only).
   * @defaultValue 1_000
   */
  intervalMs?: number;
  /** Runs one collection. @defaultValue a synchronous full `Bun.gc(true)` */
  collect?: () => void;
  /** Clock, ms. @defaultValue `performance.now` */
  now?: () => number;
}

/** Defaults of {@link CollectorPacerOptions}. */
export const DEFAULT_COLLECTOR_PACER_OPTIONS = {
  intervalMs: 1_000,
  collect: () => Bun.gc(true),
  now: () => performance.now(),
} satisfies Required<CollectorPacerOptions>;

/**
 * Collects garbage at a steady pace while a sync writes batches. A sync allocates at a steady
 * high rate (REST pages, normalized messages, the batch document sent to Postgres) and keeps
 * almost nothing: the JS heap is ~10 MB after a collection at any point of a million-message sync.
 * Left to itself JavaScriptCore sizes its heap to that allocation rate and the process's RSS
 * creeps up by a third over the sync (pages that held garbage are reused, not returned). A full
 * collection at most once a second, on a batch commit, keeps RSS flat for ~1 % of a core
 * (`bun run bench memory`, BENCHMARKS.md).
 *
 * @example
 * ```ts
 * const pacer = new CollectorPacer();
 * new SyncRunner({ ...options, onBatchCommitted: () => pacer.tick() });
 * ```
 */
export class CollectorPacer {
  readonly #options: Required<CollectorPacerOptions>;
  #last: number;
  #collections = 0;

  constructor(options: CollectorPacerOptions = {}) {
    this.#options = { ...DEFAULT_COLLECTOR_PACER_OPTIONS, ...options };
    this.#last = this.#options.now();
  }

  /** Called after each committed batch: collects when the interval has passed since the last one. */
  tick(): void {
    const { intervalMs, collect, now } = this.#options;
    if (intervalMs <= 0) return;
    const t = now();
    if (t - this.#last < intervalMs) return;
    this.#last = t;
    this.#collections++;
    collect();
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }
}
