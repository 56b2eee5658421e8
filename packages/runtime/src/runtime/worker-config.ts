/** Configuration of a worker process, from the environment. */
export interface WorkerConfig {
  /** `DATABASE_URL` (required for a separate worker). */
  databaseUrl: string | undefined;
  /** `NATS_URL` (required for a separate worker). */
  natsUrl: string | undefined;
  /** `DATA_DIR`, default `./data`. */
  dataDir: string;
  /** `LOG_LEVEL`, default `info`. */
  logLevel: string;
  /** `WORKER_ID`, default host-pid-random. */
  workerId: string | undefined;
  /** `WORKER_CONCURRENCY`, default 4: jobs (of different instances) run at once. */
  concurrency: number;
  /** `WORKER_LEASE_MS`, default 30000: a dead worker's job is taken over after this. */
  leaseMs: number;
  /** `REAPER_INTERVAL_MS`, default 5000. */
  reaperIntervalMs: number;
  /** `LEADER_RETRY_MS`, default 5000: how often a follower tries to become leader. */
  leaderRetryMs: number;
  /**
   * `LEADER_LEASE_MS`, default 15000: leadership (scheduler, reaper) is a lease renewed every third
   * of this; a leader that stops renewing (dead, frozen) is replaced after it.
   */
  leaderLeaseMs: number;
  /**
   * `WORKER_GC_INTERVAL_MS`, default 1000: least time between two full garbage collections while
   * a sync writes batches; `0` leaves collection to the runtime (see `CollectorPacer`).
   */
  gcIntervalMs: number;
  /**
   * `NATS_STREAM`, `NATS_SUBJECT_PREFIX`, `NATS_DURABLE`, `NATS_EVENT_PREFIX`,
   * `NATS_WHATSAPP_PREFIX`: names on NATS.
   */
  nats: {
    stream?: string;
    subjectPrefix?: string;
    durable?: string;
    eventPrefix?: string;
    whatsappPrefix?: string;
    /**
     * `NATS_ACK_WAIT_MS`, default 30000: a job ticket whose worker stopped answering (no ack, no
     * `working()`) is delivered to another worker after this.
     */
    ackWaitMs?: number;
  };
}

const int = (text: string | undefined, fallback: number, name: string, min = 1): number => {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
};

/** Reads {@link WorkerConfig} from `env`. */
export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const nats: WorkerConfig['nats'] = {};
  if (env.NATS_STREAM) nats.stream = env.NATS_STREAM;
  if (env.NATS_SUBJECT_PREFIX) nats.subjectPrefix = env.NATS_SUBJECT_PREFIX;
  if (env.NATS_DURABLE) nats.durable = env.NATS_DURABLE;
  if (env.NATS_EVENT_PREFIX) nats.eventPrefix = env.NATS_EVENT_PREFIX;
  if (env.NATS_WHATSAPP_PREFIX) nats.whatsappPrefix = env.NATS_WHATSAPP_PREFIX;
  if (env.NATS_ACK_WAIT_MS) nats.ackWaitMs = int(env.NATS_ACK_WAIT_MS, 30_000, 'NATS_ACK_WAIT_MS', 100);
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    natsUrl: env.NATS_URL || undefined,
    dataDir: env.DATA_DIR || './data',
    logLevel: env.LOG_LEVEL || 'info',
    workerId: env.WORKER_ID || undefined,
    concurrency: int(env.WORKER_CONCURRENCY, 4, 'WORKER_CONCURRENCY'),
    leaseMs: int(env.WORKER_LEASE_MS, 30_000, 'WORKER_LEASE_MS', 300),
    reaperIntervalMs: int(env.REAPER_INTERVAL_MS, 5_000, 'REAPER_INTERVAL_MS', 100),
    leaderRetryMs: int(env.LEADER_RETRY_MS, 5_000, 'LEADER_RETRY_MS', 100),
    leaderLeaseMs: int(env.LEADER_LEASE_MS, 15_000, 'LEADER_LEASE_MS', 300),
    gcIntervalMs: int(env.WORKER_GC_INTERVAL_MS, 1_000, 'WORKER_GC_INTERVAL_MS', 0),
    nats,
  };
}
