import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { WhatsAppPlugin, WhatsAppSocketFactory } from '@omni/channel-whatsapp';
import {
  type CredentialCipher,
  createDb,
  loadCredentialCipher,
  type OmniDb,
  type SecretKeySource,
  SettingsService,
} from '@omni/db';
import { type ChannelPlugin, JobRepository, type Logger, PluginRegistry } from '@omni/sync-core';
import type { EventBus } from '../events/event-bus.ts';
import { InProcessEventBus } from '../events/in-process-event-bus.ts';
import { NatsEventBus } from '../events/nats-event-bus.ts';
import { ProfileSyncService } from '../profile/profile-sync-service.ts';
import { InProcessQueue } from '../queue/in-process/in-process-queue.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { NatsJobQueue } from '../queue/nats/nats-queue.ts';
import { type LeaderLock, PgAdvisoryLock, SingleProcessLock } from '../scheduler/leader-lock.ts';

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
  nats?: { stream?: string; subjectPrefix?: string; durable?: string; eventPrefix?: string };
  /**
   * Run the WhatsApp plugin in this process (it holds the sockets: one process only). `true` uses
   * Baileys; an object may pass another socket factory (tests).
   * @defaultValue false
   */
  whatsapp?: boolean | { socketFactory?: WhatsAppSocketFactory };
}

/** Shared services of the API and worker processes. */
export interface Services {
  db: OmniDb;
  settings: SettingsService;
  cipher: CredentialCipher;
  secretKeySource: SecretKeySource;
  plugins: PluginRegistry;
  jobs: JobRepository;
  profiles: ProfileSyncService;
  queue: JobQueue;
  events: EventBus;
  /** Scheduler/reaper leadership: Postgres advisory lock, or always-leader when embedded. */
  lock: LeaderLock;
  nats: NatsConnection | null;
  /** The WhatsApp plugin when this process runs it. */
  whatsapp: WhatsAppPlugin | null;
  close(): Promise<void>;
}

/** Opens the database (migrating it), NATS when configured, and builds the shared services. */
export async function openServices(config: ServicesConfig): Promise<Services> {
  const db = await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const settings = new SettingsService(db.db);
  const { cipher, source } = loadCredentialCipher({ dataDir: config.dataDir });
  const plugins = new PluginRegistry(config.plugins);
  const jobs = new JobRepository(db.db);
  const profiles = new ProfileSyncService(db.db, cipher, plugins, config.log);
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
  const lock: LeaderLock = db.engine === 'postgres' ? new PgAdvisoryLock(db.db) : new SingleProcessLock();
  let whatsapp: WhatsAppPlugin | null = null;
  if (config.whatsapp) {
    // Loaded only here: Baileys is heavy and only the process holding the sockets needs it.
    const { reconnectWhatsApp, startWhatsApp } = await import('./whatsapp.ts');
    const socketFactory = typeof config.whatsapp === 'object' ? config.whatsapp.socketFactory : undefined;
    whatsapp = startWhatsApp({
      db: db.db,
      cipher,
      profiles,
      log: config.log,
      ...(socketFactory ? { socketFactory } : {}),
    });
    plugins.register(whatsapp);
    await reconnectWhatsApp(whatsapp, db.db, config.log);
  }
  return {
    db,
    settings,
    cipher,
    secretKeySource: source,
    plugins,
    jobs,
    profiles,
    queue,
    events,
    lock,
    nats,
    whatsapp,
    close: async () => {
      await whatsapp?.close().catch(() => {});
      await queue.close().catch(() => {});
      await events.close().catch(() => {});
      if (nats) await nats.drain().catch(() => {});
      await db.close().catch(() => {});
    },
  };
}
