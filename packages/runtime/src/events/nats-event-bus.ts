import type { NatsConnection } from '@nats-io/transport-node';
import type { EventBus, EventFilter, EventSubscription } from './event-bus.ts';
import { eventSubject, type SyncEvent } from './sync-event.ts';

/**
 * {@link EventBus} on core NATS subjects `{prefix}.{instanceId}.{jobId}.{event}`. Events are
 * ephemeral (the job row holds the truth); a subscriber that misses one reads the row.
 */
export class NatsEventBus implements EventBus {
  readonly #nc: NatsConnection;
  readonly #prefix: string;

  /** @param prefix subject prefix, default `omni.sync` */
  constructor(nc: NatsConnection, prefix = 'omni.sync') {
    this.#nc = nc;
    this.#prefix = prefix;
  }

  async publish(event: SyncEvent): Promise<void> {
    this.#nc.publish(eventSubject(this.#prefix, event), JSON.stringify(event));
  }

  async emit(event: SyncEvent): Promise<void> {
    await this.publish(event).catch(() => {});
  }

  async subscribe(filter: EventFilter, handler: (event: SyncEvent) => void): Promise<EventSubscription> {
    const subject = `${this.#prefix}.${filter.instanceId ?? '*'}.${filter.jobId ?? '*'}.*`;
    const sub = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          handler(JSON.parse(msg.string()) as SyncEvent);
        } catch {}
      },
    });
    await this.#nc.flush();
    return {
      close: async () => {
        sub.unsubscribe();
      },
    };
  }

  async close(): Promise<void> {}
}
