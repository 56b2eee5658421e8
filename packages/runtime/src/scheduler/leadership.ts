import type { Logger } from '@omni/sync-core';
import type { LeaderLock } from './leader-lock.ts';

/** Something only the leader runs. */
export interface LeaderDuty {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/**
 * Campaigns for the {@link LeaderLock} every `retryMs`; while held, runs the duties (scheduler,
 * reaper); when lost, stops them.
 */
export class Leadership {
  #timer: ReturnType<typeof setInterval> | null = null;
  #leading = false;
  #busy = false;

  constructor(
    private readonly lock: LeaderLock,
    private readonly duties: LeaderDuty[],
    private readonly log: Logger,
    private readonly retryMs = 5_000,
  ) {}

  /** `true` while this process leads. */
  get leading(): boolean {
    return this.#leading;
  }

  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.retryMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#leading) await this.#resign();
    await this.lock.release();
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      if (this.#leading && !this.lock.held) {
        this.log.warn('leadership lost');
        await this.#resign();
      }
      if (!this.#leading && (await this.lock.tryAcquire())) {
        this.#leading = true;
        this.log.info('leadership acquired: running scheduler and reaper');
        for (const duty of this.duties) await duty.start();
      }
    } catch (err) {
      this.log.warn({ err }, 'leadership check failed');
    } finally {
      this.#busy = false;
    }
  }

  async #resign(): Promise<void> {
    this.#leading = false;
    for (const duty of this.duties) await duty.stop();
  }
}
