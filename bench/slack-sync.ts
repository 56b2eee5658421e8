/**
 * `bun run bench slack-sync [--channels C] [--top-level T] [--thread-every K] [--replies R]
 *   [--window-ms W] [--app-tier internal|unlisted]`
 *
 * Syncs a Slack workspace ("all" depth) from the fake Slack with Slack's own limits — per method
 * per workspace, Tier 3 (50 per window) for `conversations.history` and `conversations.replies` —
 * through the PRODUCTION runner (`createSyncRunner` of @omni/runtime: settings from the database,
 * the shared rate budget in Postgres, the writer a worker builds) into a throw-away Postgres
 * database. The plugin's budget is Slack's own limits (its per-method tier windows); the engine's
 * per-instance bucket is set through `sync.slack.messagesPerMinute` to the two methods' sum and
 * `sync.chatConcurrency` = C, so Slack's windows, not the runner, set the pace.
 * Default: 20 channels × (1,000 top-level messages + a thread every 10th with 15 replies) = 50,000
 * messages, 120 history and 2,000 replies requests.
 * Slack's windows are a minute; a real Tier 3 run of this would take ~40 minutes, so the fake and
 * the plugin scale the window to `--window-ms` (default 2000 ms, 30× faster: the request counts per
 * window stay Slack's). Floor: per method `(ceil(requests_m / 50) − 1) × window` (the first 50 go
 * at once), the methods in parallel: the largest. The fake runs in a worker thread (Slack is remote).
 * Prints one JSON line `{bench:"slack-sync",messages,requests,seconds,floorSeconds,status429,…}`.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createSlackPlugin, type SlackAppTier } from '../packages/channel-slack/src/index.ts';
import { FakeSlack } from '../packages/testkit/src/slack/index.ts';
import { numberArg } from './lib/args.ts';
import { openProductionSync, runMessagesJob } from './lib/production-sync.ts';
import { nextMessage } from './lib/worker-message.ts';

const HISTORY_PAGE = 200;

interface FakeSpec {
  channels: number;
  topLevel: number;
  threadEvery: number;
  replies: number;
  windowMs: number;
  appTier: SlackAppTier;
}
interface FakeCounters {
  requests: number;
  status429: number;
  history: number;
  replies: number;
  expected: number;
}
type WorkerMessage =
  | { kind: 'ready'; apiUrl: string; token: string }
  | { kind: 'stats'; stats: FakeCounters };

async function runFake(spec: FakeSpec): Promise<void> {
  const fake = await FakeSlack.start({
    data: {
      seed: 42,
      channels: Array.from({ length: spec.channels }, (_, i) => ({
        name: `c${i}`,
        messageCount: spec.topLevel,
        historyDays: 90,
        threadEvery: spec.threadEvery,
        repliesPerThread: spec.replies,
      })),
    },
    tierWindowMs: spec.windowMs,
    appTier: spec.appTier,
  });
  parentPort!.on('message', async (msg: string) => {
    if (msg !== 'stop') return;
    const stats: FakeCounters = {
      requests: fake.stats.requests,
      status429: fake.stats.status429,
      history: fake.stats.method('conversations.history'),
      replies: fake.stats.method('conversations.replies'),
      expected: fake.data.channels.reduce((n, c) => n + c.messageCount + fake.data.replyCount(c), 0),
    };
    await fake.stop();
    parentPort!.postMessage({ kind: 'stats', stats } satisfies WorkerMessage);
  });
  parentPort!.postMessage({ kind: 'ready', apiUrl: fake.apiUrl, token: fake.token } satisfies WorkerMessage);
}

async function main(): Promise<void> {
  const tierArg = process.argv.indexOf('--app-tier');
  const spec: FakeSpec = {
    channels: numberArg('channels', 20),
    topLevel: numberArg('top-level', 1000),
    threadEvery: numberArg('thread-every', 10),
    replies: numberArg('replies', 15),
    windowMs: numberArg('window-ms', 2000),
    appTier: tierArg >= 0 ? (process.argv[tierArg + 1] as SlackAppTier) : 'internal',
  };
  const worker = new Worker(new URL(import.meta.url), { workerData: spec });
  const ready = await nextMessage<WorkerMessage, 'ready'>(worker, 'ready');
  const plugin = createSlackPlugin({
    apiUrl: ready.apiUrl,
    appTier: spec.appTier,
    tierWindowMs: spec.windowMs,
    pacingMarginMs: 10,
    historyPageSize: HISTORY_PAGE,
    repliesPageSize: 200,
  });
  const perWindow = spec.appTier === 'unlisted' ? 1 : 50;
  const perMinute = Math.ceil((2 * perWindow * 60_000) / spec.windowMs);
  const settingValues = { 'sync.slack.messagesPerMinute': perMinute, 'sync.chatConcurrency': spec.channels };

  const sync = await openProductionSync({ plugin, token: ready.token, settings: settingValues });
  let outcome: { messages: number; seconds: number; engineRetries: number };
  try {
    const { seconds, progress, rows } = await runMessagesJob(sync, { depth: 'all' });
    outcome = { messages: rows, seconds, engineRetries: progress.rateLimitWaits };
  } finally {
    await sync.close();
  }

  worker.postMessage('stop');
  const { stats } = await nextMessage<WorkerMessage, 'stats'>(worker, 'stats');
  await worker.terminate();
  const floorFor = (requests: number) =>
    (Math.max(0, Math.ceil(requests / perWindow) - 1) * spec.windowMs) / 1000;
  const historyFloor = floorFor(stats.history);
  const repliesFloor = floorFor(stats.replies);
  const floorSeconds = Math.max(historyFloor, repliesFloor);
  const load = (
    await Bun.file('/proc/loadavg')
      .text()
      .catch(() => '')
  )
    .split(' ')
    .slice(0, 3)
    .map(Number);
  console.log(
    JSON.stringify({
      bench: 'slack-sync',
      runner: 'createSyncRunner (production), shared rate budget in Postgres',
      appTier: spec.appTier,
      tierWindowMs: spec.windowMs,
      windowScale: `Slack's 60 s windows run as ${spec.windowMs} ms (${(60_000 / spec.windowMs).toFixed(0)}x faster); requests per window are Slack's`,
      channels: spec.channels,
      messages: outcome.messages,
      requests: stats.requests,
      historyRequests: stats.history,
      repliesRequests: stats.replies,
      seconds: Number(outcome.seconds.toFixed(3)),
      floorSeconds,
      historyFloorSeconds: historyFloor,
      repliesFloorSeconds: repliesFloor,
      ratio: floorSeconds > 0 ? Number((outcome.seconds / floorSeconds).toFixed(4)) : null,
      realTimeMinutes: Number(((outcome.seconds * 60_000) / spec.windowMs / 60).toFixed(1)),
      status429: stats.status429,
      engineRateLimitRetries: outcome.engineRetries,
      loadAvg: load,
    }),
  );
  if (outcome.messages !== stats.expected) {
    console.error(`expected ${stats.expected} messages, got ${outcome.messages}`);
    process.exit(1);
  }
}

if (Bun.isMainThread) await main();
else await runFake(workerData as FakeSpec);
