/**
 * The API's start command (apps/api/src/main.ts) as the scaled-out mode runs it — Postgres, NATS,
 * `API_PROCESSES` HTTP processes on one port — over an existing bench database and media folder,
 * with private NATS names. For benchmarks that compare serving from several processes.
 */
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { BENCH_API_KEY } from './api-server.ts';
import { freePort } from './nginx.ts';

/** A running API with several processes. */
export interface RunningApiProcesses {
  origin: string;
  processes: number;
  /** The primary's pid (the API processes are its children). */
  pid: number;
  stop(): Promise<void>;
}

/** Starts `processes` API processes over `databaseUrl`, serving media from `mediaDir`. */
export async function startApiProcesses(options: {
  databaseUrl: string;
  mediaDir: string;
  processes: number;
}): Promise<RunningApiProcesses> {
  const port = await freePort();
  const tag = `benchapi${process.pid}`;
  const proc: Subprocess = Bun.spawn(['bun', 'run', join(import.meta.dir, '../../apps/api/src/main.ts')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: options.databaseUrl,
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      NATS_STREAM: tag.toUpperCase(),
      NATS_SUBJECT_PREFIX: `${tag}.jobs`,
      NATS_DURABLE: tag,
      NATS_EVENT_PREFIX: `${tag}.events`,
      NATS_WHATSAPP_PREFIX: `${tag}.wa`,
      MEDIA_STORAGE_PATH: options.mediaDir,
      API_KEY: BENCH_API_KEY,
      API_PROCESSES: String(options.processes),
      LOG_LEVEL: 'warn',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  });
  const origin = `http://127.0.0.1:${port}`;
  // Ready when every process answers: several ready answers in a row.
  let ready = 0;
  for (let i = 0; i < 600 && ready < 10 * options.processes; i++) {
    const res = await fetch(`${origin}/api/v2/ready`).catch(() => null);
    if (res?.status === 200) ready += 1;
    else await Bun.sleep(100);
    if (proc.exitCode !== null) throw new Error(`API processes exited with ${proc.exitCode}`);
  }
  return {
    origin,
    processes: options.processes,
    pid: proc.pid,
    stop: async () => {
      proc.kill('SIGTERM');
      await Promise.race([proc.exited, Bun.sleep(15_000)]);
      proc.kill('SIGKILL');
    },
  };
}
