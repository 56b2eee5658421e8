import cluster from 'node:cluster';
import { loadCredentialCipher } from '@omni/db';
import type { Logger } from '@omni/sync-core';
import { loadApiKey } from './api-key.ts';
import type { ApiConfig } from './config.ts';

/**
 * `API_PROCESSES` > 1, in the primary process: forks that many API processes sharing one port
 * (node:cluster; the kernel spreads connections), and supervises them — a process that dies is
 * replaced, SIGTERM is passed to all and the primary exits once they have. The API is stateless
 * when scaled out (Postgres and NATS hold everything), so N processes serve N cores (each sends
 * media with sendfile, as one process does: see `http/native-routes-server.ts`). Only with
 * `DATABASE_URL` and `NATS_URL` (the embedded PGlite and in-process worker live in one process).
 * The API key and the credential key are settled here first, so every process uses the same.
 * Never returns.
 */
export async function superviseApiProcesses(config: ApiConfig, log: Logger): Promise<never> {
  if (!config.databaseUrl || !config.natsUrl) {
    log.error('API_PROCESSES > 1 needs DATABASE_URL and NATS_URL (the embedded mode is one process)');
    process.exit(2);
  }
  const key = loadApiKey({ apiKey: config.apiKey, dataDir: config.dataDir });
  loadCredentialCipher({ dataDir: config.dataDir });
  if (key.source === 'generated') console.log(`API key (generated into ${key.file}): ${key.apiKey}`);
  const env = { API_KEY: key.apiKey, API_PROCESSES: '1' };
  let stopping = false;
  const fork = () => cluster.fork(env);
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    log.warn({ pid: worker.process.pid, code }, 'API process exited: starting another');
    fork();
  });
  for (let i = 0; i < config.processes; i++) fork();
  log.info({ processes: config.processes, port: config.port }, 'API processes started');
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return new Promise<never>(() => {});
}
