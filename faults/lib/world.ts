import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../apps/api/src/app.ts';
import { createDiscordPlugin, type DiscordPluginOptions } from '../../packages/channel-discord/src/index.ts';
import type { SettingValues, SyncJob as SyncJobRow } from '../../packages/db/src/index.ts';
import { createTestDb } from '../../packages/db/src/testing.ts';
import {
  createSyncRunner,
  NatsJobQueue,
  openServices,
  RunnerExecutor,
  type Services,
  SingleProcessLock,
  WorkerRuntime,
} from '../../packages/runtime/src/index.ts';
import { MediaFetcher, readProgress, type SyncProgress } from '../../packages/sync-core/src/index.ts';
import { FakeDiscord, type FakeDiscordOptions } from '../../packages/testkit/src/discord/index.ts';
import type { Cleanup } from './cleanup.ts';
import { ScenarioFailure, waitFor } from './wait.ts';
import { WorkerProcess } from './worker-process.ts';

/** The HTTP app as `buildApp` returns it. */
export type FaultsApp = Awaited<ReturnType<typeof buildApp>>;

const API_KEY = 'faults-key';
const AUTH = { 'x-api-key': API_KEY };
const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Discord pacing for tests: far above the fake's limits so a sync takes seconds, in 20-message pages. */
export const FAST_DISCORD: Partial<DiscordPluginOptions> = {
  historyRequestsPerWindow: 1000,
  historyWindowMs: 1000,
  pageSize: 20,
};

/** Options of {@link SyncWorld.open}. */
export interface SyncWorldOptions {
  cleanup: Cleanup;
  /** The fake Discord (its limits default to 1000 per second everywhere). */
  fake: FakeDiscordOptions;
  natsUrl: string;
  /** A database to use as is (a private cluster); default a fresh database on the shared Postgres. */
  databaseUrl?: string;
  /** Options of the Discord plugin of this process (the API's and an in-process worker's). */
  plugin?: Partial<DiscordPluginOptions>;
  /** Settings written before any worker starts. */
  settings?: Partial<SettingValues>;
  /**
   * JetStream ack wait of job tickets (`NATS_ACK_WAIT_MS` of every process of the world).
   * @defaultValue 30000 (the product's default)
   */
  ackWaitMs?: number;
  /** Where the API logs (pino JSON lines, debug level, the service's own redaction); default no log. */
  appLog?: (line: string) => void;
}

/** A job as the database has it. */
export type SyncJob = SyncJobRow;

/**
 * One scenario's world: the fake Discord, a database, unique stream and subject names on NATS,
 * the HTTP app (in this process, over that NATS) and worker processes started on demand. Every
 * piece is registered with the scenario's {@link Cleanup}.
 */
export class SyncWorld {
  readonly names: {
    stream: string;
    subjectPrefix: string;
    durable: string;
    eventPrefix: string;
    whatsappPrefix: string;
    ackWaitMs?: number;
  };

  private constructor(
    readonly fake: FakeDiscord,
    readonly services: Services,
    readonly app: FaultsApp,
    readonly databaseUrl: string,
    readonly natsUrl: string,
    readonly dir: string,
    readonly secret: string,
    names: SyncWorld['names'],
    readonly cleanup: Cleanup,
  ) {
    this.names = names;
  }

  /** Starts the fake, creates the database and the NATS stream, builds the app. */
  static async open(options: SyncWorldOptions): Promise<SyncWorld> {
    const { cleanup } = options;
    const fast = { limit: 1000, windowMs: 1000 };
    const fake = await FakeDiscord.start({
      messageRateLimit: fast,
      globalRateLimit: fast,
      routeRateLimit: fast,
      ...options.fake,
    });
    cleanup.add('fake discord', () => fake.stop());
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const testDb = await createTestDb('postgres', { migrate: false });
      cleanup.add(`drop database ${testDb.url}`, () => testDb.close());
      databaseUrl = testDb.url as string;
    }
    const dir = mkdtempSync(join(tmpdir(), 'omni-faults-'));
    cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    const tag = randomBytes(4).toString('hex');
    const names = {
      stream: `FAULTS_${tag}`,
      subjectPrefix: `faults.${tag}.jobs`,
      durable: `faults_${tag}`,
      eventPrefix: `faults.${tag}.sync`,
      whatsappPrefix: `faults.${tag}.wa`,
      ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
    };
    const secret = randomBytes(32).toString('hex');
    process.env.OMNI_SECRET_KEY = secret;
    const services = await openServices({
      databaseUrl,
      natsUrl: options.natsUrl,
      dataDir: dir,
      name: 'omni-faults',
      plugins: [createDiscordPlugin({ api: fake.apiUrl, ...FAST_DISCORD, ...options.plugin })],
      log: silentLog,
      nats: names,
    });
    cleanup.add('services', () => services.close());
    const queue = services.queue;
    if (queue instanceof NatsJobQueue) cleanup.add(`stream ${names.stream}`, () => queue.destroy());
    await services.settings.update({ 'sync.discord.messagesPerMinute': 60_000, ...options.settings });
    const app = await buildApp(
      {
        db: services.db,
        settings: services.settings,
        cipher: services.cipher,
        apiKey: API_KEY,
        plugins: services.plugins,
        jobs: services.jobs,
        queue: services.queue,
        events: services.events,
        profiles: services.profiles,
      },
      options.appLog
        ? {
            logger: {
              level: 'debug',
              stream: { write: (line: string) => options.appLog?.(line) },
            },
          }
        : {},
    );
    await app.ready();
    cleanup.add('app', () => app.close());
    return new SyncWorld(fake, services, app, databaseUrl, options.natsUrl, dir, secret, names, cleanup);
  }

  /** The Kysely handle of the world's database. */
  get db() {
    return this.services.db.db;
  }

  /** Environment of a worker process of this world. */
  workerEnv(id: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl,
      NATS_URL: this.natsUrl,
      NATS_STREAM: this.names.stream,
      NATS_SUBJECT_PREFIX: this.names.subjectPrefix,
      NATS_DURABLE: this.names.durable,
      NATS_EVENT_PREFIX: this.names.eventPrefix,
      NATS_WHATSAPP_PREFIX: this.names.whatsappPrefix,
      ...(this.names.ackWaitMs ? { NATS_ACK_WAIT_MS: String(this.names.ackWaitMs) } : {}),
      OMNI_SECRET_KEY: this.secret,
      DATA_DIR: join(this.dir, `data-${id}`),
      DISCORD_API_URL: this.fake.apiUrl,
      // The fake serves attachments on 127.0.0.1: the one documented exception to the media checks.
      MEDIA_ALLOW_ORIGINS: this.fake.url,
      DISCORD_HISTORY_REQUESTS_PER_WINDOW: String(FAST_DISCORD.historyRequestsPerWindow),
      DISCORD_HISTORY_WINDOW_MS: String(FAST_DISCORD.historyWindowMs),
      DISCORD_PAGE_SIZE: String(FAST_DISCORD.pageSize),
      WORKER_ID: id,
      WORKER_LEASE_MS: '1500',
      REAPER_INTERVAL_MS: '200',
      LEADER_RETRY_MS: '300',
      // A killed leader is replaced as fast as a killed worker's job lease expires.
      LEADER_LEASE_MS: '1500',
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  /**
   * Starts `apps/sync-worker` as a child process (stderr kept in the world's folder); `main` is
   * another entry (the fake-WhatsApp worker of `whatsapp-worker-main.ts`).
   */
  startWorker(id: string, extra: Record<string, string> = {}, main?: string): WorkerProcess {
    const worker = WorkerProcess.spawn(id, this.workerEnv(id, extra), join(this.dir, `${id}.log`), main);
    this.cleanup.add(`worker ${id}`, () => worker.kill('SIGKILL'));
    return worker;
  }

  /** A worker runtime inside this process (for plugin options a worker process cannot take from its environment). */
  async startInProcessWorker(id = `inproc-${randomBytes(2).toString('hex')}`): Promise<WorkerRuntime> {
    const s = this.services;
    const runner = createSyncRunner(s, silentLog, {
      leaseMs: 3_000,
      mediaFetcher: new MediaFetcher({ settings: s.settings, allowOrigins: [this.fake.url] }),
    });
    const runtime = new WorkerRuntime(
      {
        db: s.db.db,
        settings: s.settings,
        jobs: s.jobs,
        queue: s.queue,
        profiles: s.profiles,
        plugins: s.plugins,
        executor: new RunnerExecutor(runner),
        lock: new SingleProcessLock(),
        log: silentLog,
      },
      { worker: { id, leaseMs: 3_000 }, reaper: { intervalMs: 300, stalePendingMs: 1_000 } },
    );
    await runtime.start();
    this.cleanup.add(`in-process worker ${id}`, () => runtime.stop());
    return runtime;
  }

  /** Creates an instance over the API and connects it with the fake's token. */
  async connectedInstance(name: string, downloadMedia = false): Promise<string> {
    const created = await this.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: AUTH,
      payload: { name, channel: 'discord', downloadMediaOnSync: downloadMedia },
    });
    if (created.statusCode !== 201 && created.statusCode !== 200)
      throw new ScenarioFailure(`POST /instances → ${created.statusCode} ${created.body}`);
    const id = created.json().data.id as string;
    const connected = await this.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/connect`,
      headers: AUTH,
      payload: { token: this.fake.token },
    });
    if (connected.statusCode !== 200)
      throw new ScenarioFailure(`POST /connect → ${connected.statusCode} ${connected.body}`);
    return id;
  }

  /** `POST /instances/:id/sync`; returns the status and the job id. */
  async postSync(
    instanceId: string,
    body: Record<string, unknown>,
  ): Promise<{ status: number; jobId: string }> {
    const res = await this.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${instanceId}/sync`,
      headers: AUTH,
      payload: body,
    });
    if (res.statusCode !== 202) throw new ScenarioFailure(`POST /sync → ${res.statusCode} ${res.body}`);
    return { status: res.statusCode, jobId: res.json().data.jobId as string };
  }

  /** The job row. */
  job(jobId: string): Promise<SyncJob> {
    return this.services.jobs.getJob(jobId);
  }

  /** Waits until the job is completed, failed or cancelled. */
  waitFinished(jobId: string, timeoutMs: number): Promise<SyncJob> {
    return waitFor(
      `job ${jobId} to finish`,
      async () => {
        const job = await this.job(jobId);
        return ['completed', 'failed', 'cancelled'].includes(job.status) ? job : null;
      },
      { timeoutMs, everyMs: 50 },
    );
  }

  /** External ids stored for the instance, sorted (duplicates kept, so a double row shows). */
  async storedIds(instanceId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('messages')
      .select('external_id')
      .where('instance_id', '=', instanceId)
      .execute();
    return rows.map((r) => r.external_id).sort();
  }

  /** The ids the fake has in the job's window over every readable chat, sorted. */
  expectedIds(job: SyncJob): string[] {
    const window = readProgress(job.progress).window;
    if (!window) throw new ScenarioFailure(`job ${job.id} has no window in its progress`);
    const since = window.since ? Date.parse(window.since) : null;
    const until = Date.parse(window.until);
    return this.fake.data.chats
      .filter((c) => c.readable)
      .flatMap((c) => this.fake.expectedIds(c, since, until))
      .sort();
  }

  /** The job's progress. */
  progress(job: SyncJob): SyncProgress {
    return readProgress(job.progress);
  }
}
