import { loadChannelPlugins, openServices } from '@omni/sync-worker';
import pino from 'pino';
import { loadApiKey } from './api-key.ts';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
const log = pino({ level: config.logLevel });
const services = await openServices({
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  dataDir: config.dataDir,
  name: 'omni-sync-api',
  plugins: loadChannelPlugins(),
  log,
});
const key = loadApiKey({ apiKey: config.apiKey, dataDir: config.dataDir });
const app = await buildApp(
  {
    db: services.db,
    settings: services.settings,
    cipher: services.cipher,
    apiKey: key.apiKey,
    plugins: services.plugins,
    jobs: services.jobs,
    queue: services.queue,
    events: services.events,
    profiles: services.profiles,
  },
  { logger: { level: config.logLevel } },
);
await app.listen({ port: config.port, host: config.host });
log.info(
  { engine: services.db.engine, queue: services.queue.mode, secretKey: services.secretKeySource },
  `omni-sync API listening on http://${config.host}:${config.port}/api/v2`,
);
if (key.source !== 'env') {
  console.log(
    `API key (${key.source === 'generated' ? 'generated into' : 'read from'} ${key.file}): ${key.apiKey}`,
  );
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await app.close().catch(() => {});
  await services.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
