import { createDb, loadCredentialCipher, SettingsService } from '@omni/db';
import { JobRepository } from '@omni/sync-core';
import { InProcessEventBus, InProcessQueue, ProfileSyncService, StaticPluginLookup } from '@omni/sync-worker';
import pino from 'pino';
import { loadApiKey } from './api-key.ts';
import { buildApp } from './app.ts';
import type { AppDeps } from './app-deps.ts';
import { loadChannelPlugins } from './channel-plugins.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
const log = pino({ level: config.logLevel });
const db = await createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
const settings = new SettingsService(db.db);
const { cipher, source: keySource } = loadCredentialCipher({ dataDir: config.dataDir });
const key = loadApiKey({ apiKey: config.apiKey, dataDir: config.dataDir });
const plugins = new StaticPluginLookup(loadChannelPlugins());
const queue = new InProcessQueue();
const events = new InProcessEventBus();
const deps: AppDeps = {
  db,
  settings,
  cipher,
  apiKey: key.apiKey,
  plugins,
  jobs: new JobRepository(db.db),
  queue,
  events,
  profiles: new ProfileSyncService(db.db, cipher, plugins, log),
};
const app = await buildApp(deps, { logger: { level: config.logLevel } });
await app.listen({ port: config.port, host: config.host });
log.info(
  { engine: db.engine, queue: queue.mode, secretKey: keySource, port: config.port },
  `omni-sync API listening on http://${config.host}:${config.port}/api/v2`,
);
if (key.source !== 'env') {
  console.log(
    `API key (${key.source === 'generated' ? 'generated' : 'read from'} ${key.file}): ${key.apiKey}`,
  );
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await app.close().catch(() => {});
  await queue.close().catch(() => {});
  await events.close().catch(() => {});
  await db.close().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
