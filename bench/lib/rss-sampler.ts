/** One sample of the process's memory. */
export interface MemorySample {
  /** Seconds since the sampler started. */
  t: number;
  /** Resident set size, MB. */
  rssMb: number;
  /** JavaScript heap in use, MB. */
  heapUsedMb: number;
  /** Memory outside the JS heap that JS objects hold (buffers), MB. */
  externalMb: number;
  /** What the caller counts at that moment (messages stored, requests…). */
  progress: number;
}

const MB = 1048576;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/**
 * Samples this process's memory every `intervalMs` (1 s by default) and keeps every sample
 * (a few thousand small objects at most) with the caller's progress counter.
 */
export class RssSampler {
  readonly samples: MemorySample[] = [];
  readonly #started = performance.now();
  readonly #progress: () => number;
  readonly #onSample: (sample: MemorySample) => void;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    progress: () => number,
    intervalMs = 1000,
    onSample: (sample: MemorySample) => void = () => {},
  ) {
    this.#progress = progress;
    this.#onSample = onSample;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes a sample now (also called by the timer). */
  sample(): MemorySample {
    const m = process.memoryUsage();
    const s: MemorySample = {
      t: Math.round((performance.now() - this.#started) / 100) / 10,
      rssMb: mb(m.rss),
      heapUsedMb: mb(m.heapUsed),
      externalMb: mb(m.external),
      progress: this.#progress(),
    };
    this.samples.push(s);
    this.#onSample(s);
    return s;
  }

  /** Stops sampling after one last sample. */
  stop(): MemorySample {
    clearInterval(this.#timer);
    return this.sample();
  }

  /** The largest RSS seen, MB. */
  get peakRssMb(): number {
    return Math.max(...this.samples.map((s) => s.rssMb));
  }

  /** The first sample taken once progress reached `mark`, if any. */
  firstAt(mark: number): MemorySample | undefined {
    return this.samples.find((s) => s.progress >= mark);
  }
}
