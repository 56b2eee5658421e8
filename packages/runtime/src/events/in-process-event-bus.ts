import { EventEmitter } from 'node:events';
import type { EventBus, EventFilter, EventSubscription } from './event-bus.ts';
import type { SyncEvent } from './sync-event.ts';

/** {@link EventBus} inside one process (embedded mode). */
export class InProcessEventBus implements EventBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  async publish(event: SyncEvent): Promise<void> {
    this.#emitter.emit('event', event);
  }

  async emit(event: SyncEvent): Promise<void> {
    await this.publish(event).catch(() => {});
  }

  async subscribe(filter: EventFilter, handler: (event: SyncEvent) => void): Promise<EventSubscription> {
    const listener = (event: SyncEvent) => {
      if (filter.instanceId && event.instanceId !== filter.instanceId) return;
      if (filter.jobId && event.jobId !== filter.jobId) return;
      handler(event);
    };
    this.#emitter.on('event', listener);
    return {
      close: async () => {
        this.#emitter.off('event', listener);
      },
    };
  }

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}
