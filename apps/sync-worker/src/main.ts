import { createWorkerRuntime, loadChannelPlugins, loadWorkerConfig, openServices } from '@omni/runtime';
import { SAFE_LOG_OPTIONS } from '@omni/sync-core';
import pino from 'pino';
import { WorkerHealthServer } from './health-server.ts';

const config = loadWorkerConfig();
const log = pino({ level: config.logLevel, ...SAFE_LOG_OPTIONS });
if (!config.databaseUrl || !config.natsUrl) {
  log.fatal(
    'a separate worker needs DATABASE_URL and NATS_URL (without NATS, `bun run start` runs the worker inside the API)',
  );
  process.exit(2);
}
// Up before the services open, so `/ready` says "starting" while migrations run.
const health = process.env.WORKER_HEALTH_PORT
  ? new WorkerHealthServer(process.env.METRICS_TOKEN ? { metricsToken: process.env.METRICS_TOKEN } : {})
  : null;
await health?.listen(Number(process.env.WORKER_HEALTH_PORT), process.env.WORKER_HEALTH_HOST || '0.0.0.0');
const services = await openServices({
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  dataDir: config.dataDir,
  name: 'omni-sync-worker',
  plugins: loadChannelPlugins(),
  log,
  nats: config.nats,
  leaderLeaseMs: config.leaderLeaseMs,
  // Sessions run where their lease is held; WHATSAPP_ENABLED=false keeps this worker out of WhatsApp.
  whatsapp:
    process.env.WHATSAPP_ENABLED === 'false' ? false : config.workerId ? { owner: config.workerId } : true,
});
const runtime = createWorkerRuntime(services, config, log);
await runtime.start();
health?.started({ database: () => services.db.ping(), queue: () => services.queue.ping() }, services.metrics);
log.info({ worker: runtime.worker.id, concurrency: config.concurrency }, 'omni-sync worker started');

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  health?.stopping();
  log.info(
    { signal, running: runtime.worker.runningJobIds },
    'worker shutting down: checkpointing running jobs',
  );
  await runtime.stop().catch((err) => log.error({ err }, 'worker stop failed'));
  await services.close();
  await health?.close();
  log.info('worker stopped');
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
