import {
  AckPolicy,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import type {
  ConsumeOptions,
  DeliveryHandler,
  JobDelivery,
  JobQueue,
  JobTicket,
  QueueConsumer,
} from '../job-queue.ts';

/** Options of {@link NatsJobQueue}. */
export interface NatsJobQueueOptions {
  /**
   * The work-queue stream.
   * @defaultValue 'OMNI_SYNC_JOBS'
   */
  stream?: string;
  /**
   * Subject prefix; tickets go to `{subjectPrefix}.{instanceId}`.
   * @defaultValue 'omni.jobs'
   */
  subjectPrefix?: string;
  /**
   * Durable pull consumer shared by every worker.
   * @defaultValue 'sync-workers'
   */
  durable?: string;
  /**
   * Time a delivered ticket may go without ack or `working()` before it is redelivered.
   * @defaultValue 30_000
   */
  ackWaitMs?: number;
}

/** Defaults of {@link NatsJobQueueOptions}. */
export const DEFAULT_NATS_JOB_QUEUE_OPTIONS = {
  stream: 'OMNI_SYNC_JOBS',
  subjectPrefix: 'omni.jobs',
  durable: 'sync-workers',
  ackWaitMs: 30_000,
} satisfies Required<NatsJobQueueOptions>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * {@link JobQueue} on a JetStream work-queue stream with one durable pull consumer: explicit ack,
 * `working()` heartbeats, redelivery after `ackWaitMs`, no limit on deliveries. Each of the
 * `concurrency` loops pulls one ticket at a time, so a busy worker leaves tickets to others.
 */
export class NatsJobQueue implements JobQueue {
  readonly mode = 'nats' as const;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #options: Required<NatsJobQueueOptions>;
  readonly #consumers = new Set<QueueConsumer>();
  #jsm: JetStreamManager | null = null;

  constructor(nc: NatsConnection, options: NatsJobQueueOptions = {}) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.#options = { ...DEFAULT_NATS_JOB_QUEUE_OPTIONS, ...options };
  }

  /**
   * Creates (or updates) the stream and the durable consumer; a consumer whose ack wait differs from
   * `ackWaitMs` is updated to it. Idempotent.
   */
  async ensure(): Promise<void> {
    const jsm = await this.#manager();
    const { stream, subjectPrefix, durable, ackWaitMs } = this.#options;
    const subjects = [`${subjectPrefix}.>`];
    try {
      await jsm.streams.info(stream);
      await jsm.streams.update(stream, { subjects });
    } catch {
      await jsm.streams.add({ name: stream, subjects, retention: RetentionPolicy.Workqueue });
    }
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      max_deliver: -1,
      max_ack_pending: -1,
    };
    let existing: Awaited<ReturnType<typeof jsm.consumers.info>> | null = null;
    try {
      existing = await jsm.consumers.info(stream, durable);
    } catch {
      await jsm.consumers.add(stream, config);
    }
    if (existing && existing.config.ack_wait !== config.ack_wait) {
      await jsm.consumers.update(stream, durable, { ack_wait: config.ack_wait });
    }
  }

  async stats(): Promise<{ pending: number; redelivered: number }> {
    const info = await (await this.#manager()).consumers.info(this.#options.stream, this.#options.durable);
    return { pending: info.num_pending, redelivered: info.num_redelivered };
  }

  async dispatch(ticket: JobTicket): Promise<void> {
    await this.#js.publish(`${this.#options.subjectPrefix}.${ticket.instanceId}`, JSON.stringify(ticket));
  }

  async consume(handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<QueueConsumer> {
    await this.ensure();
    const concurrency = Math.max(1, options.concurrency ?? 4);
    let stopped = false;
    const loop = async () => {
      let consumer: Consumer | null = null;
      while (!stopped && !this.#nc.isClosed()) {
        let msg: JsMsg | null = null;
        try {
          consumer ??= await this.#js.consumers.get(this.#options.stream, this.#options.durable);
          msg = await consumer.next({ expires: 1_000 });
        } catch {
          consumer = null;
          if (stopped) break;
          await sleep(500);
          await this.ensure().catch(() => {});
          continue;
        }
        if (!msg) continue;
        if (stopped) {
          msg.nak();
          break;
        }
        await handler(this.#delivery(msg)).catch(() => msg?.nak(1_000));
      }
    };
    const loops = Array.from({ length: concurrency }, () => loop());
    const consumer: QueueConsumer = {
      stop: async () => {
        stopped = true;
        await Promise.all(loops);
        this.#consumers.delete(consumer);
      },
    };
    this.#consumers.add(consumer);
    return consumer;
  }

  async ping(): Promise<boolean> {
    if (this.#nc.isClosed()) return false;
    try {
      await this.#nc.flush();
      return true;
    } catch {
      return false;
    }
  }

  /** Stops this queue's consumers; the connection belongs to the caller. */
  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.stop()));
  }

  /** Deletes the stream (tests). */
  async destroy(): Promise<void> {
    const jsm = await this.#manager();
    await jsm.streams.delete(this.#options.stream).catch(() => false);
  }

  #delivery(msg: JsMsg): JobDelivery {
    let ticket: JobTicket;
    try {
      ticket = JSON.parse(msg.string()) as JobTicket;
    } catch {
      ticket = { jobId: '', instanceId: '' };
    }
    return {
      ticket,
      deliveryCount: msg.info.deliveryCount,
      working: () => {
        try {
          msg.working();
        } catch {}
      },
      ack: async () => {
        await msg.ackAck().catch(() => false);
      },
      retry: async (delayMs) => {
        msg.nak(delayMs);
      },
    };
  }

  async #manager(): Promise<JetStreamManager> {
    this.#jsm ??= await jetstreamManager(this.#nc);
    return this.#jsm;
  }
}
