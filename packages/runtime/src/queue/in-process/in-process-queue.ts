import type {
  ConsumeOptions,
  DeliveryHandler,
  JobDelivery,
  JobQueue,
  JobTicket,
  QueueConsumer,
} from '../job-queue.ts';

interface Entry {
  ticket: JobTicket;
  deliveryCount: number;
}

/**
 * {@link JobQueue} inside one process: the embedded default (no NATS). Tickets live in memory;
 * a lost ticket loses no job, because the reaper re-dispatches from the database.
 */
export class InProcessQueue implements JobQueue {
  readonly mode = 'in-process' as const;
  readonly #pending: Entry[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #consumer: { handler: DeliveryHandler; concurrency: number; active: number; stopped: boolean } | null =
    null;
  #idle: (() => void)[] = [];
  #closed = false;

  #redelivered = 0;

  async stats(): Promise<{ pending: number; redelivered: number }> {
    return { pending: this.#pending.length, redelivered: this.#redelivered };
  }

  async dispatch(ticket: JobTicket): Promise<void> {
    if (this.#closed) return;
    this.#pending.push({ ticket, deliveryCount: 0 });
    this.#pump();
  }

  async consume(handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<QueueConsumer> {
    if (this.#consumer && !this.#consumer.stopped) throw new Error('InProcessQueue supports one consumer');
    const consumer = {
      handler,
      concurrency: Math.max(1, options.concurrency ?? 4),
      active: 0,
      stopped: false,
    };
    this.#consumer = consumer;
    this.#pump();
    return {
      stop: async () => {
        consumer.stopped = true;
        if (consumer.active === 0) return;
        await new Promise<void>((resolve) => this.#idle.push(resolve));
      },
    };
  }

  /** Tickets waiting for a consumer (for tests and health). */
  get size(): number {
    return this.#pending.length;
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#consumer) {
      this.#consumer.stopped = true;
      if (this.#consumer.active > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
  }

  #pump(): void {
    const consumer = this.#consumer;
    if (!consumer || consumer.stopped) return;
    while (consumer.active < consumer.concurrency && this.#pending.length > 0) {
      const entry = this.#pending.shift() as Entry;
      entry.deliveryCount += 1;
      if (entry.deliveryCount === 2) this.#redelivered += 1;
      consumer.active += 1;
      let settled = false;
      const delivery: JobDelivery = {
        ticket: entry.ticket,
        deliveryCount: entry.deliveryCount,
        working: () => {},
        ack: async () => {
          settled = true;
        },
        retry: async (delayMs) => {
          if (settled) return;
          settled = true;
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            if (this.#closed) return;
            this.#pending.push(entry);
            this.#pump();
          }, delayMs);
          this.#timers.add(timer);
        },
      };
      void consumer
        .handler(delivery)
        .catch(() => delivery.retry(1000))
        .finally(() => {
          consumer.active -= 1;
          if (consumer.stopped && consumer.active === 0) {
            for (const resolve of this.#idle.splice(0)) resolve();
          }
          queueMicrotask(() => this.#pump());
        });
    }
  }
}
