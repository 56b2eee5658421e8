/**
 * `bun run bench discord-sync [--mode engine|plugin] [--profile discord|seed|both] [--messages N]
 *   [--seed-messages M] [--channels C] [--window-ms W] [--global-window-ms G]`
 *
 * Syncs N messages ("all" depth) spread over C channels from the fake Discord with Discord's own
 * limits (5 history requests per 5 s per channel, 50 requests per second per token), the engine's
 * limit raised above them, and compares the time with the floor those limits impose:
 *   per channel: (ceil(requests_c / 5) − 1) × 5 s   (the first 5 go at once: the initial burst)
 *   global:      (ceil(requests / 50) − 1) × 1 s
 * The fake runs in a worker thread (Discord is remote: its CPU is not the client's). Prints one
 * JSON line per profile. `--mode engine` (default) runs a `messages` job (depth `all`) through the
 * PRODUCTION runner (`createSyncRunner` of @omni/runtime: settings from the database, the same
 * limiter and writer a worker builds) into a throw-away Postgres database and counts the rows
 * stored. Profiles (`--profile both`, the default, runs both):
 *   discord  the engine's budget set to Discord's own limits through the settings a deployment
 *            would change — `sync.discord.messagesPerMinute` 3000 (50 requests/s per token) and
 *            `sync.chatConcurrency` = C (every channel at once, so the per-channel windows, not the
 *            runner, set the pace). Target: ≤ 1.05× the floor, 0 × 429.
 *   seed     the seed's defaults as a fresh deployment has them (50 requests/min, 4 chats at once),
 *            on M messages (default 5,000: at 50/min 100k messages take ~21 minutes); its floor is
 *            the token bucket's (`requests ÷ 50/min`, less the first minute's burst). Reported, not
 *            a target; `secondsPer100k` scales it.
 * `--mode plugin` runs the plugin alone with a minimal engine stand-in (no budget). `"mode"` and
 * `"profile"` say which.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createDiscordPlugin, type DiscordPlugin } from '../packages/channel-discord/src/index.ts';
import { instanceId, type PluginContext, RateLimitedError } from '../packages/sync-core/src/index.ts';
import { FakeDiscord } from '../packages/testkit/src/discord/index.ts';
import { numberArg } from './lib/args.ts';
import { openProductionSync, runMessagesJob } from './lib/production-sync.ts';
import { nextMessage } from './lib/worker-message.ts';

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

type Profile = 'discord' | 'seed';

/** Engine settings of a profile (see the header). */
function profileSettings(profile: Profile, channels: number): Record<string, number> {
  return profile === 'discord'
    ? { 'sync.discord.messagesPerMinute': GLOBAL_PER_WINDOW * 60, 'sync.chatConcurrency': channels }
    : { 'sync.discord.messagesPerMinute': 50, 'sync.chatConcurrency': 4 };
}

async function main(): Promise<void> {
  const mode = process.argv.includes('--mode') ? process.argv[process.argv.indexOf('--mode') + 1] : 'engine';
  const which = process.argv.includes('--profile')
    ? process.argv[process.argv.indexOf('--profile') + 1]
    : 'both';
  const profiles: Profile[] =
    mode === 'plugin' ? ['discord'] : which === 'both' ? ['discord', 'seed'] : [which as Profile];
  for (const profile of profiles) {
    await runProfile(profile, mode === 'plugin' ? 'plugin' : 'engine');
  }
}

async function runProfile(profile: Profile, mode: 'engine' | 'plugin'): Promise<void> {
  const messagesWanted =
    profile === 'seed' ? numberArg('seed-messages', 5_000) : numberArg('messages', 100_000);
  const channels = numberArg('channels', 20);
  const windowMs = numberArg('window-ms', 5000);
  const globalWindowMs = numberArg('global-window-ms', 1000);
  const counts = Array.from(
    { length: channels },
    (_, i) => Math.floor(messagesWanted / channels) + (i < messagesWanted % channels ? 1 : 0),
  );
  const now = Date.now();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { counts, now, windowMs, globalWindowMs } satisfies FakeSpec,
  });
  const ready = await nextMessage<WorkerMessage, 'ready'>(worker, 'ready');
  const plugin = createDiscordPlugin({
    api: ready.apiUrl,
    historyRequestsPerWindow: PER_WINDOW,
    historyWindowMs: windowMs,
    globalRequestsPerWindow: GLOBAL_PER_WINDOW,
    globalWindowMs,
  });

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const settings = profileSettings(profile, channels);
  const run =
    mode === 'plugin'
      ? await runPlugin(plugin, ready.token, now)
      : await runEngine(plugin, ready.token, settings);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const { messages, seconds, engineRetries, instance } = run;

  worker.postMessage('stop');
  const { stats } = await nextMessage<WorkerMessage, 'stats'>(worker, 'stats');
  await worker.terminate();

  const floorFor = (requests: number, limit: number, window: number) =>
    (Math.max(0, Math.ceil(requests / limit) - 1) * window) / 1000;
  const perChannelFloor = Math.max(
    ...counts.map((n) => floorFor(Math.floor(n / PAGE) + 1, PER_WINDOW, windowMs)),
  );
  const globalFloor = floorFor(stats.requests - stats.status429, GLOBAL_PER_WINDOW, globalWindowMs);
  // The engine's own budget: a token bucket refilled at `perMinute` whose burst is one second's worth
  // (at least 1). Only history requests are counted against it, so this floor never flatters us.
  const perMinute = settings['sync.discord.messagesPerMinute'] as number;
  const burst = Math.max(1, perMinute / 60);
  const budgetFloor = mode === 'engine' ? (Math.max(0, stats.historyRequests - burst) / perMinute) * 60 : 0;
  const floorSeconds = Math.max(perChannelFloor, globalFloor, budgetFloor);
  console.log(
    JSON.stringify({
      bench: 'discord-sync',
      mode: mode === 'plugin' ? 'plugin' : 'engine+postgres',
      profile,
      target: profile === 'discord' ? '<= 1.05x floor, 0 x 429' : 'reported, not a target',
      chatConcurrency: settings['sync.chatConcurrency'],
      messagesPerMinute: perMinute,
      runner: mode === 'engine' ? 'createSyncRunner (production)' : 'plugin alone',
      messages,
      requests: stats.requests,
      historyRequests: stats.historyRequests,
      seconds: Number(seconds.toFixed(3)),
      floorSeconds: Number(floorSeconds.toFixed(3)),
      perChannelFloorSeconds: perChannelFloor,
      globalFloorSeconds: globalFloor,
      budgetFloorSeconds: Number(budgetFloor.toFixed(3)),
      ratio: floorSeconds > 0 ? Number((seconds / floorSeconds).toFixed(4)) : null,
      ...(profile === 'seed'
        ? { secondsPer100k: Math.round((seconds * 100_000) / Math.max(1, messages)) }
        : {}),
      status429: stats.status429,
      engineRateLimitRetries: engineRetries,
      libraryWaits: plugin.stats(instance)?.libraryWaits ?? 0,
      peakRssMb: Math.round(peakRss / 1048576),
    }),
  );
  if (messages !== messagesWanted) {
    console.error(`expected ${messagesWanted} messages, got ${messages}`);
    process.exit(1);
  }
}

interface RunOutcome {
  messages: number;
  seconds: number;
  engineRetries: number;
  instance: string;
}

/** The plugin alone: all chats at once, a `request` that retries after `RateLimitedError`. */
async function runPlugin(plugin: DiscordPlugin, token: string, until: number): Promise<RunOutcome> {
  let engineRetries = 0;
  const ctx: PluginContext = {
    instance: {
      id: instanceId(crypto.randomUUID()),
      name: 'bench',
      channel: 'discord',
      credentials: { token },
      ownerIdentifier: null,
    },
    signal: new AbortController().signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    fetchMedia: () => Promise.reject(new Error('this bench downloads no media')),
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
          until,
          cursor: null,
        })) {
          messages += batch.messages.length;
        }
      }),
  );
  return {
    messages,
    seconds: (performance.now() - started) / 1000,
    engineRetries,
    instance: ctx.instance.id,
  };
}

/**
 * A `messages` job (depth `all`) through the production runner (`createSyncRunner`, settings from
 * the database as a deployment sets them) into a throw-away Postgres database.
 */
async function runEngine(
  plugin: DiscordPlugin,
  token: string,
  settingValues: Record<string, number>,
): Promise<RunOutcome> {
  const sync = await openProductionSync({ plugin, token, settings: settingValues });
  try {
    const { seconds, progress, rows } = await runMessagesJob(sync, { depth: 'all' });
    return { messages: rows, seconds, engineRetries: progress.rateLimitWaits, instance: sync.instanceId };
  } finally {
    await sync.close();
  }
}

if (Bun.isMainThread) await main();
else await runFake(workerData as FakeSpec);
