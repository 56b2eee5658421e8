/**
 * `bun run bench discord-sync [--messages N] [--channels C] [--window-ms W] [--global-window-ms G]`
 *
 * Syncs N messages ("all" depth) spread over C channels from the fake Discord with Discord's own
 * limits (5 history requests per 5 s per channel, 50 requests per second per token), the engine's
 * limit raised above them, and compares the time with the floor those limits impose:
 *   per channel: (ceil(requests_c / 5) − 1) × 5 s   (the first 5 go at once: the initial burst)
 *   global:      (ceil(requests / 50) − 1) × 1 s
 * The fake runs in a worker thread (Discord is remote: its CPU is not the client's). Prints one
 * JSON line. Runs the plugin alone with a minimal engine stand-in (concurrent chats, retry after
 * `RateLimitedError`); `"mode"` says so.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createDiscordPlugin } from '../packages/channel-discord/src/index.ts';
import { instanceId, type PluginContext, RateLimitedError } from '../packages/sync-core/src/index.ts';
import { FakeDiscord } from '../packages/testkit/src/discord/index.ts';

const PER_WINDOW = 5;
const GLOBAL_PER_WINDOW = 50;
const PAGE = 100;

interface FakeSpec {
  counts: number[];
  now: number;
  windowMs: number;
  globalWindowMs: number;
}
interface FakeCounters {
  requests: number;
  status429: number;
  historyRequests: number;
}
type WorkerMessage =
  | { kind: 'ready'; apiUrl: string; token: string }
  | { kind: 'stats'; stats: FakeCounters };

async function runFake(spec: FakeSpec): Promise<void> {
  const fake = await FakeDiscord.start({
    data: {
      seed: 42,
      nowMs: spec.now,
      maxAttachmentBytes: 1024,
      guilds: [
        {
          name: 'bench',
          memberCount: 50,
          channels: spec.counts.map((n, i) => ({ name: `c${i}`, messageCount: n, historyDays: 90 })),
        },
      ],
    },
    messageRateLimit: { limit: PER_WINDOW, windowMs: spec.windowMs },
    globalRateLimit: { limit: GLOBAL_PER_WINDOW, windowMs: spec.globalWindowMs },
  });
  parentPort!.on('message', async (msg: string) => {
    if (msg !== 'stop') return;
    const stats: FakeCounters = {
      requests: fake.stats.requests,
      status429: fake.stats.status429,
      historyRequests: fake.stats.route('GET /channels/:channel/messages'),
    };
    await fake.stop();
    parentPort!.postMessage({ kind: 'stats', stats } satisfies WorkerMessage);
  });
  parentPort!.postMessage({ kind: 'ready', apiUrl: fake.apiUrl, token: fake.token } satisfies WorkerMessage);
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

function next(worker: Worker, kind: WorkerMessage['kind']): Promise<WorkerMessage> {
  return new Promise((resolve) => {
    const on = (msg: WorkerMessage) => {
      if (msg.kind !== kind) return;
      worker.off('message', on);
      resolve(msg);
    };
    worker.on('message', on);
  });
}

async function main(): Promise<void> {
  const messagesWanted = arg('messages', 100_000);
  const channels = arg('channels', 20);
  const windowMs = arg('window-ms', 5000);
  const globalWindowMs = arg('global-window-ms', 1000);
  const counts = Array.from(
    { length: channels },
    (_, i) => Math.floor(messagesWanted / channels) + (i < messagesWanted % channels ? 1 : 0),
  );
  const now = Date.now();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { counts, now, windowMs, globalWindowMs } satisfies FakeSpec,
  });
  const ready = (await next(worker, 'ready')) as Extract<WorkerMessage, { kind: 'ready' }>;
  const plugin = createDiscordPlugin({
    api: ready.apiUrl,
    historyRequestsPerWindow: PER_WINDOW,
    historyWindowMs: windowMs,
    globalRequestsPerWindow: GLOBAL_PER_WINDOW,
    globalWindowMs,
  });

  let engineRetries = 0;
  const ctx: PluginContext = {
    instance: {
      id: instanceId(crypto.randomUUID()),
      name: 'bench',
      channel: 'discord',
      credentials: { token: ready.token },
      ownerIdentifier: null,
    },
    signal: new AbortController().signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    async request(_kind, fn) {
      for (;;) {
        try {
          return await fn();
        } catch (error) {
          if (!(error instanceof RateLimitedError)) throw error;
          engineRetries++;
          await Bun.sleep(error.retryAfterMs ?? 1000);
        }
      }
    },
  };

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const started = performance.now();
  const { chats } = await plugin.listChats(ctx);
  let messages = 0;
  await Promise.all(
    chats
      .filter((c) => c.readable)
      .map(async (chat) => {
        for await (const batch of plugin.fetchHistory(ctx, {
          chatId: chat.id,
          since: null,
          until: now,
          cursor: null,
        })) {
          messages += batch.messages.length;
        }
      }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  worker.postMessage('stop');
  const { stats } = (await next(worker, 'stats')) as Extract<WorkerMessage, { kind: 'stats' }>;
  await worker.terminate();

  const floorFor = (requests: number, limit: number, window: number) =>
    (Math.max(0, Math.ceil(requests / limit) - 1) * window) / 1000;
  const perChannelFloor = Math.max(
    ...counts.map((n) => floorFor(Math.floor(n / PAGE) + 1, PER_WINDOW, windowMs)),
  );
  const globalFloor = floorFor(stats.requests - stats.status429, GLOBAL_PER_WINDOW, globalWindowMs);
  const floorSeconds = Math.max(perChannelFloor, globalFloor);
  console.log(
    JSON.stringify({
      bench: 'discord-sync',
      mode: 'plugin',
      messages,
      requests: stats.requests,
      historyRequests: stats.historyRequests,
      seconds: Number(seconds.toFixed(3)),
      floorSeconds,
      perChannelFloorSeconds: perChannelFloor,
      globalFloorSeconds: globalFloor,
      ratio: Number((seconds / floorSeconds).toFixed(4)),
      status429: stats.status429,
      engineRateLimitRetries: engineRetries,
      libraryWaits: plugin.stats(ctx.instance.id)?.libraryWaits ?? 0,
      peakRssMb: Math.round(peakRss / 1048576),
    }),
  );
  if (messages !== messagesWanted) {
    console.error(`expected ${messagesWanted} messages, got ${messages}`);
    process.exit(1);
  }
}

if (Bun.isMainThread) await main();
else await runFake(workerData as FakeSpec);
