/**
 * `bun run bench scale-out [--variant tokens|shared-token|all] [--messages N] [--channels C]
 *  [--jobs-per-worker J]`
 *
 * Real `apps/sync-worker` processes over NATS JetStream and one Postgres, against the fake
 * Discord (in a child process) with Discord's own limits: 5 history requests per 5 s per channel
 * and 50 requests per second, per token. The engine's limits are raised to the platform's
 * (`sync.discord.messagesPerMinute` 3000, `sync.chatConcurrency` = channels), so Discord's
 * windows — held in the shared budget — are the only pacing.
 *
 * - `tokens`: 8 Discord instances, each its own bot token, one `messages` job (depth all) each;
 *   1 worker process, then 4 (the same `WORKER_CONCURRENCY` per worker). Goal: 4 workers ≥ 3.5×
 *   the messages per second of 1, 0 × 429.
 * - `shared-token`: 4 instances on ONE token, 4 workers: the 4 jobs page the same channels, so
 *   every window is contended across processes. Goal: 0 × 429 and the fake's observed rate never
 *   above its limits (`maxRouteWindowRequests` ≤ 5, `maxGlobalWindowRequests` ≤ 50).
 *
 * One JSON line per run:
 * `{bench:"scale-out",variant,workers,instances,messages,seconds,msgsPerSec,status429,…}`, then a
 * summary line with the speed-up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { NatsJobQueue, openServices } from '../packages/runtime/src/index.ts';
import { noopLogger } from '../packages/sync-core/src/index.ts';
import { numberArg, stringArg } from './lib/args.ts';
import { createBenchDatabase } from './lib/bench-db.ts';
import { startFakeDiscordProcess } from './lib/fake-discord-process.ts';
import { freePort } from './lib/nginx.ts';
import { logger, printResult, round } from './lib/report.ts';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const WORKER_MAIN = join(import.meta.dir, '../apps/sync-worker/src/main.ts');
const PER_WINDOW = 5;
const WINDOW_MS = 5000;
const GLOBAL_PER_WINDOW = 50;
const GLOBAL_WINDOW_MS = 1000;
const log = logger('scale-out');

const variant = stringArg('variant', 'all');
const messagesPerChannel = numberArg('messages', 2000);
const channels = numberArg('channels', 4);
const jobsPerWorker = numberArg('jobs-per-worker', 2);

interface RunSpec {
  variant: 'tokens' | 'shared-token';
  workers: number;
  instances: number;
  /** Distinct bot tokens among the instances. */
  tokens: number;
  channels: number;
}

async function waitReady(port: number, proc: Subprocess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`worker exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`);
      if (res.ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`worker on port ${port} not ready in ${timeoutMs} ms`);
}

async function run(spec: RunSpec): Promise<Record<string, unknown>> {
  const tag = randomBytes(4).toString('hex');
  const names = {
    stream: `BENCH_SCALE_${tag}`,
    subjectPrefix: `bench.${tag}.jobs`,
    durable: `bench_${tag}`,
    eventPrefix: `bench.${tag}.sync`,
  };
  const tokens = Array.from({ length: spec.tokens }, (_, i) => `bench-token-${i}-${randomUUID()}`);
  const fake = await startFakeDiscordProcess({
    data: {
      seed: 11,
      nowMs: Date.now() - 60_000,
      maxAttachmentBytes: 256,
      guilds: [
        {
          name: 'bench',
          memberCount: 20,
          channels: Array.from({ length: spec.channels }, (_, i) => ({
            name: `c${i}`,
            messageCount: messagesPerChannel,
            historyDays: 90,
          })),
        },
      ],
    },
    token: tokens[0]!,
    extraTokens: tokens.slice(1),
    messageRateLimit: { limit: PER_WINDOW, windowMs: WINDOW_MS },
    globalRateLimit: { limit: GLOBAL_PER_WINDOW, windowMs: GLOBAL_WINDOW_MS },
  });
  const bench = await createBenchDatabase('omni_bench_scale');
  const secret = randomBytes(32).toString('hex');
  // The API's side of the fleet, composed as apps/api composes it: jobs created and dispatched
  // over JetStream to the worker processes.
  process.env.OMNI_SECRET_KEY = secret;
  const services = await openServices({
    databaseUrl: bench.url,
    natsUrl: NATS_URL,
    dataDir: '/tmp/omni-bench-scale-out',
    name: `bench-scale-out-${tag}`,
    plugins: [],
    log: noopLogger,
    nats: names,
  });
  const { db, queue, cipher, jobs } = services;
  const workers: Subprocess[] = [];
  try {
    await services.settings.update({
      'sync.discord.messagesPerMinute': GLOBAL_PER_WINDOW * 60,
      'sync.chatConcurrency': spec.channels,
    });
    const instances: string[] = [];
    for (let i = 0; i < spec.instances; i++) {
      const id = crypto.randomUUID();
      const row = await db.db
        .insertInto('instances')
        .values({
          id,
          name: `bench-${i}`,
          channel: 'discord',
          credentials: cipher.encryptJson({ token: tokens[i % tokens.length]! }, id),
          download_media_on_sync: false,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      instances.push(row.id);
    }
    for (let w = 0; w < spec.workers; w++) {
      const port = await freePort();
      const proc = Bun.spawn(['bun', WORKER_MAIN], {
        env: {
          ...process.env,
          DATABASE_URL: bench.url,
          NATS_URL,
          NATS_STREAM: names.stream,
          NATS_SUBJECT_PREFIX: names.subjectPrefix,
          NATS_DURABLE: names.durable,
          NATS_EVENT_PREFIX: names.eventPrefix,
          OMNI_SECRET_KEY: secret,
          DISCORD_API_URL: fake.apiUrl,
          WORKER_ID: `bench-w${w}`,
          WORKER_CONCURRENCY: String(jobsPerWorker),
          WORKER_HEALTH_PORT: String(port),
          WORKER_HEALTH_HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
        stdout: 'ignore',
        stderr: 'inherit',
      });
      workers.push(proc);
      await waitReady(port, proc);
    }
    const started = performance.now();
    const jobIds: string[] = [];
    for (const instanceId of instances) {
      const { job } = await jobs.createJob(instanceId, 'messages', { depth: 'all' });
      await queue.dispatch({ jobId: job.id, instanceId });
      jobIds.push(job.id);
    }
    for (;;) {
      const rows = await db.db.selectFrom('sync_jobs').select(['status']).where('id', 'in', jobIds).execute();
      if (rows.every((r) => r.status === 'completed' || r.status === 'failed' || r.status === 'cancelled')) {
        if (rows.some((r) => r.status !== 'completed')) log('not every job completed:', rows);
        break;
      }
      await Bun.sleep(100);
    }
    const seconds = (performance.now() - started) / 1000;
    const timing = await db.db
      .selectFrom('sync_jobs')
      .select(['started_at', 'completed_at'])
      .where('id', 'in', jobIds)
      .execute();
    const durations = timing.map((j) => (Number(j.completed_at) - Number(j.started_at)) / 1000);
    const starts = timing.map((j) => Number(j.started_at));
    const stored = await db.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const messages = Number(stored.n);
    for (const proc of workers) proc.kill('SIGTERM');
    await Promise.all(workers.map((p) => p.exited));
    const counters = await fake.stop();
    return {
      bench: 'scale-out',
      variant: spec.variant,
      workers: spec.workers,
      instances: spec.instances,
      tokens: spec.tokens,
      channels: spec.channels,
      jobsPerWorker,
      messages,
      expectedMessages: spec.instances * spec.channels * messagesPerChannel,
      seconds: round(seconds, 3),
      msgsPerSec: round(messages / seconds, 1),
      /** Seconds one job took (claim to completion), shortest and longest. */
      jobSeconds: [round(Math.min(...durations), 1), round(Math.max(...durations), 1)],
      /** Seconds between the first and the last job's start (jobs waiting for a free worker slot). */
      startSpreadSeconds: round((Math.max(...starts) - Math.min(...starts)) / 1000, 1),
      status429: counters.status429,
      requests: counters.requests,
      historyRequests: counters.historyRequests,
      maxRouteWindowRequests: counters.maxRouteWindowRequests,
      routeLimit: PER_WINDOW,
      maxGlobalWindowRequests: counters.maxGlobalWindowRequests,
      globalLimit: GLOBAL_PER_WINDOW,
    };
  } finally {
    for (const proc of workers) if (proc.exitCode === null) proc.kill('SIGKILL');
    await fake.stop().catch(() => undefined);
    if (queue instanceof NatsJobQueue) await queue.destroy().catch(() => undefined);
    await services.close();
    await bench.drop();
  }
}

const results: Record<string, unknown>[] = [];
if (variant === 'tokens' || variant === 'all') {
  for (const workers of [1, 4]) {
    const result = await run({ variant: 'tokens', workers, instances: 8, tokens: 8, channels });
    printResult(result as { bench: string });
    results.push(result);
  }
}
if (variant === 'shared-token' || variant === 'all') {
  const result = await run({
    variant: 'shared-token',
    workers: 4,
    instances: 4,
    tokens: 1,
    channels: channels * 4,
  });
  printResult(result as { bench: string });
  results.push(result);
}
const [one, four] = results.filter((r) => r.variant === 'tokens');
const shared = results.find((r) => r.variant === 'shared-token');
printResult({
  bench: 'scale-out',
  summary: true,
  ...(one && four
    ? {
        speedup: round((four.msgsPerSec as number) / (one.msgsPerSec as number), 2),
        speedupGoal: 3.5,
        tokens429: (one.status429 as number) + (four.status429 as number),
      }
    : {}),
  ...(shared
    ? {
        shared429: shared.status429,
        sharedWithinLimits:
          (shared.maxRouteWindowRequests as number) <= PER_WINDOW &&
          (shared.maxGlobalWindowRequests as number) <= GLOBAL_PER_WINDOW,
      }
    : {}),
});
