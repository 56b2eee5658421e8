import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { WhatsAppPlugin, WhatsAppSocketFactory } from '@omni/channel-whatsapp';
import {
  type CredentialCipher,
  createDb,
  loadCredentialCipher,
  type OmniDb,
  type SecretKeySource,
  SettingsService,
  upgradeCredentialEnvelopes,
} from '@omni/db';
import {
  type ChannelPlugin,
  hasSettings,
  JobRepository,
  type Logger,
  PluginRegistry,
  type RateLimiter,
  SessionLeaseStore,
} from '@omni/sync-core';
import type { EventBus } from '../events/event-bus.ts';
import { InProcessEventBus } from '../events/in-process-event-bus.ts';
import { NatsEventBus } from '../events/nats-event-bus.ts';
import { FleetMetrics } from '../metrics/fleet-metrics.ts';
import { ProfileSyncService } from '../profile/profile-sync-service.ts';
import { InProcessQueue } from '../queue/in-process/in-process-queue.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { NatsJobQueue } from '../queue/nats/nats-queue.ts';
import { CatchupTrigger } from '../scheduler/catchup-trigger.ts';
import { type LeaderLock, PgLeaseLock, SingleProcessLock } from '../scheduler/leader-lock.ts';
import { LocalWhatsAppGateway } from '../whatsapp/local-whatsapp-gateway.ts';
import { NatsWhatsAppGateway } from '../whatsapp/nats-whatsapp-gateway.ts';
import { RemoteWhatsAppPlugin } from '../whatsapp/remote-whatsapp-plugin.ts';
import type { WhatsAppGateway } from '../whatsapp/whatsapp-gateway.ts';
import { WhatsAppJobPlacement } from '../whatsapp/whatsapp-job-placement.ts';
import { WhatsAppSessionHost, type WhatsAppSessionHostOptions } from '../whatsapp/whatsapp-session-host.ts';
import type { JobPlacement } from '../worker/job-placement.ts';
import { createRateLimiter } from './create-rate-limiter.ts';
import type { WhatsAppWiring } from './whatsapp.ts';

/** Where the services connect. */
export interface ServicesConfig {
  /** Postgres URL; absent → embedded PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  /** NATS URL; absent → in-process queue and events. */
  natsUrl: string | undefined;
  dataDir: string;
  /** Name of the NATS connection (shows in server monitoring). */
  name: string;
  plugins: ChannelPlugin[];
  log: Logger;
  /** Names on NATS, for running several deployments (or tests) side by side. */
  nats?: {
    stream?: string;
    subjectPrefix?: string;
    durable?: string;
    eventPrefix?: string;
    /** Root of the WhatsApp request subjects (default `omni.wa`). */
    whatsappPrefix?: string;
    /** JetStream ack wait of job tickets, ms (default 30000; see `NatsJobQueueOptions.ackWaitMs`). */
    ackWaitMs?: number;
  };
  /**
   * Run WhatsApp sessions in this process. Without NATS this process holds every socket and
   * reconnects stored sessions; with NATS (a sync-worker) it runs the sessions whose lease it
   * holds and answers the API over NATS. `true` uses Baileys; an object may pass another socket
   * factory (tests), the lease owner id and the lease timings.
   * @defaultValue false
   */
  whatsapp?:
    | boolean
    | ({ socketFactory?: WhatsAppSocketFactory } & Partial<
        Pick<WhatsAppSessionHostOptions, 'owner' | 'leaseMs' | 'renewMs'>
      >);
  /**
   * Leadership lease length on Postgres (`LEADER_LEASE_MS`): a leader that stops renewing is
   * replaced after this.
   * @defaultValue 15_000
   */
  leaderLeaseMs?: number;
}

/** Shared services of the API and worker processes. */
export interface Services {
  db: OmniDb;
  settings: SettingsService;
  cipher: CredentialCipher;
  secretKeySource: SecretKeySource;
  plugins: PluginRegistry;
  jobs: JobRepository;
  /**
   * The process's rate limiter: one budget per platform identity shared with every other process
   * through the database (runner, profile service and API all draw from it).
   */
  limiter: RateLimiter;
  profiles: ProfileSyncService;
  queue: JobQueue;
  events: EventBus;
  /** This process's metrics (`GET /metrics`). */
  metrics: FleetMetrics;
  /** Queues an instance's catch-up when it comes back (start-up, connect, socket reconnect). */
  catchup: CatchupTrigger;
  /** Scheduler/reaper leadership: a lease row in Postgres, or always-leader on PGlite. */
  lock: LeaderLock;
  nats: NatsConnection | null;
  /** The WhatsApp plugin when this process runs the sockets. */
  whatsapp: WhatsAppPlugin | null;
  /** Its wiring (durable pushed history, replay, close) when this process runs the sockets. */
  whatsappWiring: WhatsAppWiring | null;
  /** With NATS and WhatsApp: the sessions this worker holds by lease. */
  whatsappHost: WhatsAppSessionHost | null;
  /**
   * How the API reaches WhatsApp sessions: this process's plugin (embedded), NATS request/reply to
   * the workers (distributed), or `null` when neither runs here.
   */
  whatsappGateway: WhatsAppGateway | null;
  /**
   * Where this process's worker may run jobs: with NATS, WhatsApp jobs only where their session is
   * held (this worker's when it holds or can take the lease); `null` when embedded (every job runs here).
   */
  placement: JobPlacement | null;
  /**
   * Closes the WhatsApp sockets of this process now (the session host hands its sessions over);
   * requests waiting on a socket (connect, pair) are answered as it closes. `close` does it too.
   */
  closeWhatsApp(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the database (migrating it), NATS when configured, and builds the shared services. */
export async function openServices(config: ServicesConfig): Promise<Services> {
  const db = await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const settings = new SettingsService(db.db);
  const { cipher, source } = loadCredentialCipher({ dataDir: config.dataDir });
  // Credentials stored before they were bound to their instance are rewritten bound (idempotent).
  const upgraded = await upgradeCredentialEnvelopes(db.db, cipher);
  if (upgraded > 0) config.log.info({ upgraded }, 'stored credentials re-encrypted bound to their instance');
  const plugins = new PluginRegistry(config.plugins);
  for (const plugin of config.plugins) if (hasSettings(plugin)) plugin.useSettings(settings);
  const jobs = new JobRepository(db.db);
  const limiter = createRateLimiter(db.db, settings);
  const profiles = new ProfileSyncService(db.db, cipher, plugins, config.log, limiter);
  let nats: NatsConnection | null = null;
  let queue: JobQueue;
  let events: EventBus;
  if (config.natsUrl) {
    nats = await connect({ servers: config.natsUrl, name: config.name, maxReconnectAttempts: -1 });
    const natsQueue = new NatsJobQueue(nats, config.nats ?? {});
    await natsQueue.ensure();
    queue = natsQueue;
    events = new NatsEventBus(nats, config.nats?.eventPrefix);
  } else {
    queue = new InProcessQueue();
    events = new InProcessEventBus();
  }
  const catchup = new CatchupTrigger({ db: db.db, settings, jobs, queue, log: config.log });
  const lock: LeaderLock =
    db.engine === 'postgres'
      ? new PgLeaseLock(db.db, {
          owner: `${config.name}:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          ...(config.leaderLeaseMs ? { ttlMs: config.leaderLeaseMs } : {}),
        })
      : new SingleProcessLock();
  let whatsapp: WhatsAppPlugin | null = null;
  let wiring: WhatsAppWiring | null = null;
  let whatsappHost: WhatsAppSessionHost | null = null;
  const natsGateway = nats
    ? new NatsWhatsAppGateway(nats, {
        ...(config.nats?.whatsappPrefix ? { subjectPrefix: config.nats.whatsappPrefix } : {}),
      })
    : null;
  if (config.whatsapp) {
    // Loaded only here: Baileys is heavy and only the process holding the sockets needs it.
    const { reconnectWhatsApp, startWhatsApp } = await import('./whatsapp.ts');
    const options = typeof config.whatsapp === 'object' ? config.whatsapp : {};
    wiring = startWhatsApp({
      db: db.db,
      cipher,
      profiles,
      log: config.log,
      spoolDir: join(config.dataDir, 'whatsapp-inbox'),
      pooled: db.engine === 'postgres',
      catchup,
      ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    });
    whatsapp = wiring.plugin;
    plugins.register(whatsapp);
    // Pushed history an earlier run wrote down but did not store (a crash, a Postgres outage).
    await wiring.replay();
    if (nats) {
      const replay = wiring.replay;
      whatsappHost = new WhatsAppSessionHost(
        {
          nc: nats,
          control: whatsapp,
          leases: new SessionLeaseStore(db.db),
          db: db.db,
          log: config.log,
          profiles,
          replay,
        },
        {
          owner: options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          ...(config.nats?.whatsappPrefix ? { subjectPrefix: config.nats.whatsappPrefix } : {}),
          ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
          ...(options.renewMs ? { renewMs: options.renewMs } : {}),
        },
      );
      await whatsappHost.start();
    } else {
      await reconnectWhatsApp(whatsapp, db.db, config.log);
    }
  } else if (natsGateway) {
    // No socket here: WhatsApp jobs are started and profiles read through the session's holder.
    plugins.register(new RemoteWhatsAppPlugin(natsGateway));
  }
  const whatsappGateway: WhatsAppGateway | null =
    natsGateway ?? (whatsapp ? new LocalWhatsAppGateway(whatsapp) : null);
  const closeWhatsApp = async () => {
    // No retry may hold the stop up: pushed history Postgres cannot take now is spooled to disk.
    wiring?.history.close();
    await whatsappHost?.stop().catch(() => {});
    await wiring?.close().catch(() => {});
  };
  const placement = nats ? new WhatsAppJobPlacement(db.db, whatsappHost) : null;
  const metrics = new FleetMetrics();
  metrics.observeQueue(() => queue.stats());
  return {
    db,
    settings,
    cipher,
    secretKeySource: source,
    plugins,
    jobs,
    limiter,
    profiles,
    queue,
    events,
    metrics,
    catchup,
    lock,
    nats,
    whatsapp,
    whatsappWiring: wiring,
    whatsappHost,
    whatsappGateway,
    placement,
    closeWhatsApp,
    close: async () => {
      await closeWhatsApp();
      await queue.close().catch(() => {});
      await events.close().catch(() => {});
      if (nats) await nats.drain().catch(() => {});
      await db.close().catch(() => {});
    },
  };
}
