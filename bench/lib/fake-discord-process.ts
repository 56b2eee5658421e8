/**
 * The fake Discord in a child process, so that a benchmark's RSS and CPU are the client's own
 * (Discord is remote: its memory is not the sync's). `startFakeDiscordProcess(options)` spawns
 * this file; run as a child, the file starts `FakeDiscord` and talks over Bun's IPC channel.
 */
import { join } from 'node:path';
import type { FakeDiscordOptions } from '../../packages/testkit/src/discord/index.ts';

/** What the fake counted, as read at stop. */
export interface FakeDiscordCounters {
  requests: number;
  status429: number;
  historyRequests: number;
  cdnRequests: number;
  /** Most requests seen in any per-channel message window (one channel, one token). */
  maxRouteWindowRequests: number;
  /** Most requests of one token seen in any global window. */
  maxGlobalWindowRequests: number;
  /** The child's own peak RSS, MB (sampled every 250 ms). */
  peakRssMb: number;
}

/** A running fake in a child process. */
export interface FakeDiscordProcess {
  apiUrl: string;
  token: string;
  pid: number;
  /** Stops the fake and the child; resolves with its counters (the same promise when called again). */
  stop(): Promise<FakeDiscordCounters>;
}

/** Options the child needs; `data` must be a spec (a dataset object cannot cross processes). */
export type FakeDiscordProcessOptions = Omit<FakeDiscordOptions, 'data' | 'botPermissions'> & {
  data: Extract<FakeDiscordOptions['data'], { guilds: unknown }>;
};

type ChildMessage =
  | { kind: 'ready'; apiUrl: string; token: string }
  | { kind: 'stats'; stats: FakeDiscordCounters }
  | { kind: 'error'; message: string };

/** Spawns the fake; rejects if it does not come up within `startTimeoutMs`. */
export async function startFakeDiscordProcess(
  options: FakeDiscordProcessOptions,
  startTimeoutMs = 30_000,
): Promise<FakeDiscordProcess> {
  let onMessage: (msg: ChildMessage) => void = () => {};
  const child = Bun.spawn(
    ['bun', join(import.meta.dir, 'fake-discord-process.ts'), '--child', JSON.stringify(options)],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      ipc: (msg: ChildMessage) => onMessage(msg),
    },
  );
  const next = (kind: ChildMessage['kind'], timeoutMs: number) =>
    new Promise<ChildMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fake Discord: no ${kind} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      onMessage = (msg) => {
        if (msg.kind === 'error') reject(new Error(`fake Discord: ${msg.message}`));
        if (msg.kind !== kind) return;
        clearTimeout(timer);
        resolve(msg);
      };
      void child.exited.then((code) => reject(new Error(`fake Discord exited with ${code}`)));
    });
  let ready: ChildMessage;
  try {
    ready = await next('ready', startTimeoutMs);
  } catch (error) {
    child.kill();
    throw error;
  }
  if (ready.kind !== 'ready') throw new Error('unreachable');
  let stopped: Promise<FakeDiscordCounters> | null = null;
  const stop = async (): Promise<FakeDiscordCounters> => {
    const stats = next('stats', 10_000);
    child.send('stop');
    try {
      return ((await stats) as Extract<ChildMessage, { kind: 'stats' }>).stats;
    } finally {
      child.kill();
      await child.exited;
    }
  };
  return {
    apiUrl: ready.apiUrl,
    token: ready.token,
    pid: child.pid,
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}

async function runChild(): Promise<void> {
  const { FakeDiscord } = await import('../../packages/testkit/src/discord/index.ts');
  const options = JSON.parse(
    process.argv[process.argv.indexOf('--child') + 1] ?? '{}',
  ) as FakeDiscordProcessOptions;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  const send = (msg: ChildMessage) => process.send?.(msg);
  try {
    const fake = await FakeDiscord.start(options);
    process.on('message', async (msg) => {
      if (msg !== 'stop') return;
      clearInterval(sampler);
      const stats: FakeDiscordCounters = {
        requests: fake.stats.requests,
        status429: fake.stats.status429,
        historyRequests: fake.stats.route('GET /channels/:channel/messages'),
        cdnRequests: fake.stats.cdnRequests,
        maxRouteWindowRequests: fake.stats.maxRouteWindowRequests,
        maxGlobalWindowRequests: fake.stats.maxGlobalWindowRequests,
        peakRssMb: Math.round(peakRss / 1048576),
      };
      await fake.stop();
      send({ kind: 'stats', stats });
      process.exit(0);
    });
    send({ kind: 'ready', apiUrl: fake.apiUrl, token: fake.token });
  } catch (error) {
    send({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}

if (import.meta.main && process.argv.includes('--child')) await runChild();
