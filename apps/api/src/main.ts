import cluster from 'node:cluster';
import {
  createWorkerRuntime,
  loadChannelPlugins,
  loadWorkerConfig,
  openServices,
  type WorkerRuntime,
} from '@omni/runtime';
import { SAFE_LOG_OPTIONS } from '@omni/sync-core';
import pino from 'pino';
import { loadApiKey } from './api-key.ts';
import { superviseApiProcesses } from './api-processes.ts';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
const workerConfig = loadWorkerConfig();
const log = pino({ level: config.logLevel, ...SAFE_LOG_OPTIONS });
if (config.processes > 1 && cluster.isPrimary) await superviseApiProcesses(config, log);
const services = await openServices({
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  dataDir: config.dataDir,
  name: 'omni-sync-api',
  plugins: loadChannelPlugins(),
  log,
  nats: workerConfig.nats,
  leaderLeaseMs: workerConfig.leaderLeaseMs,
  // Embedded: this process holds the WhatsApp sockets. With NATS the sync-workers hold them (one
  // per account, by lease) and the API reaches them over NATS request/reply.
  whatsapp: !config.natsUrl && process.env.WHATSAPP_ENABLED !== 'false',
});
const key = loadApiKey({ apiKey: config.apiKey, dataDir: config.dataDir });

// Embedded default: no NATS → the worker, reaper and scheduler run in this process.
let runtime: WorkerRuntime | null = null;
if (!config.natsUrl) {
  // The API's own concurrency setting (same variable, its own floor); the worker id stays generated.
  runtime = createWorkerRuntime(
    services,
    { ...workerConfig, concurrency: config.workerConcurrency, workerId: undefined },
    log,
  );
}

const stopping = new AbortController();
const app = await buildApp(
  {
    shutdown: stopping.signal,
    metrics: services.metrics,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(process.env.METRICS_TOKEN ? { metricsToken: process.env.METRICS_TOKEN } : {}),
    db: services.db,
    settings: services.settings,
    cipher: services.cipher,
    apiKey: key.apiKey,
    plugins: services.plugins,
    jobs: services.jobs,
    queue: services.queue,
    events: services.events,
    profiles: services.profiles,
    limiter: services.limiter,
    whatsapp: services.whatsappGateway,
  },
  {
    logger: { level: config.logLevel, ...SAFE_LOG_OPTIONS },
    corsOrigins: config.corsOrigins,
    nativeMedia: config.nativeMedia,
    messagePages: { maxBytes: config.messagePageCacheMb * 1024 * 1024 },
    eventStreams: {
      maxStreamsPerInstance: config.sseMaxStreamsPerInstance,
      maxStreams: config.sseMaxStreams,
    },
  },
);
await app.listen({ port: config.port, host: config.host });
await runtime?.start();
log.info(
  {
    engine: services.db.engine,
    queue: services.queue.mode,
    worker: runtime ? 'in-process' : 'separate (apps/sync-worker)',
    secretKey: services.secretKeySource,
  },
  `omni-sync API listening on http://${config.host}:${config.port}/api/v2`,
);
if (key.source === 'generated') {
  // Printed once, when it is made; afterwards it is only in the file (mode 0600).
  console.log(`API key (generated into ${key.file}): ${key.apiKey}`);
} else if (key.source === 'file') {
  log.info({ file: key.file }, 'API key read from its file');
}

const shutdown = async (signal: string) => {
  if (stopping.signal.aborted) return;
  stopping.abort();
  log.info({ signal }, 'shutting down');
  await runtime?.stop().catch((err) => log.error({ err }, 'worker stop failed'));
  // Sockets first: a request waiting on one (connect, pair) is answered as it closes, so closing
  // the HTTP server does not wait for it.
  await services.closeWhatsApp();
  await app.close().catch(() => {});
  await services.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
