/** Which transport rings the doorbell. */
export type QueueMode = 'in-process' | 'nats';

/** "Look at job X": all a queue message says. The job itself lives in the database. */
export interface JobTicket {
  jobId: string;
  instanceId: string;
}

/** One delivery of a {@link JobTicket} to a consumer. */
export interface JobDelivery {
  readonly ticket: JobTicket;
  /** 1 on the first delivery, more on redeliveries. */
  readonly deliveryCount: number;
  /** Tells the queue the job is still being worked on (JetStream `working()`), postponing redelivery. */
  working(): void;
  /** Done with the ticket: it is not delivered again. */
  ack(): Promise<void>;
  /** Give the ticket back to be delivered again after `delayMs`. */
  retry(delayMs: number): Promise<void>;
}

/** Options of {@link JobQueue.consume}. */
export interface ConsumeOptions {
  /**
   * Tickets handled at once by this consumer.
   * @defaultValue 4
   */
  concurrency?: number;
}

/** A running consumer. */
export interface QueueConsumer {
  /** Stops taking new tickets and waits for the handlers in flight to return. */
  stop(): Promise<void>;
}

/** Handles one delivery; must ack or retry it before returning. */
export type DeliveryHandler = (delivery: JobDelivery) => Promise<void>;

/**
 * The doorbell between the API and the workers. Dispatching twice is harmless: workers claim jobs
 * in the database, and a ticket for a job that is not claimable is simply acked.
 */
export interface JobQueue {
  readonly mode: QueueMode;
  /** Rings the doorbell for a job. */
  dispatch(ticket: JobTicket): Promise<void>;
  /** Starts delivering tickets to `handler`, at most `concurrency` at a time. */
  consume(handler: DeliveryHandler, options?: ConsumeOptions): Promise<QueueConsumer>;
  /** `true` when the transport answers; used by health checks. */
  ping(): Promise<boolean>;
  /** The backlog, for metrics: tickets waiting, tickets delivered more than once. */
  stats(): Promise<{ pending: number; redelivered: number }>;
  /** Stops consumers and releases the transport. */
  close(): Promise<void>;
}
