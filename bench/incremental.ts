/**
 * `bun run bench incremental [--channels C] [--messages N] [--window-ms W] [--global-window-ms G]`
 *
 * What the coverage ledger saves. The fake Discord (in a worker thread, with Discord's own limits:
 * 5 history requests per 5 s per channel, 50 requests per second per token) holds C channels
 * (default 20) with N messages (default 100,000) over the 30 days that ended a day ago, and a day
 * of new messages since. Through the PRODUCTION runner (`createSyncRunner`, settings from the
 * database, the engine's budget at Discord's limits and every channel at once, as bench
 * discord-sync's `discord` profile):
 *   1. setup (not timed): a messages job over the 30 days that ended a day ago stores the N messages;
 *   2. incremental: a `30d` messages job — the ledger leaves only the day of new messages per chat;
 *   3. full: the same `30d` window with `force: true`, the re-download incremental sync avoids.
 * Prints `{bench:"incremental",chats,newMessages,requests,minRequests,seconds,fullRequests,fullSeconds}`
 * (requests = history pages the fake served) where minRequests = Σ per chat ⌈new messages / 100⌉.
 * Goal: requests ≤ minRequests + 1 per chat and seconds ≤ 10 % of fullSeconds. Before each timed
 * run the bench waits one rate window, as the day between two syncs would (else the incremental run
 * pays for the setup's still-full per-channel windows).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createDiscordPlugin } from '../packages/channel-discord/src/index.ts';
import { CredentialCipher, SettingsService } from '../packages/db/src/index.ts';
import { createTestDb } from '../packages/db/src/testing.ts';
import { createSyncRunner, InProcessEventBus } from '../packages/runtime/src/index.ts';
import {
  JobRepository,
  noopLogger,
  PluginRegistry,
  readProgress,
  type SyncJobConfig,
} from '../packages/sync-core/src/index.ts';
import { FakeDiscord } from '../packages/testkit/src/discord/index.ts';

const DAY = 86_400_000;
const PER_WINDOW = 5;
const GLOBAL_PER_WINDOW = 50;

interface FakeSpec {
  channels: number;
  perChannel: number;
  now: number;
  windowMs: number;
  globalWindowMs: number;
}
type WorkerMessage =
  | { kind: 'ready'; apiUrl: string; token: string }
  | { kind: 'stats'; pages: number; status429: number };

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
          channels: Array.from({ length: spec.channels }, (_, i) => ({
            name: `c${i}`,
            messageCount: spec.perChannel,
            historyDays: 31,
          })),
        },
      ],
    },
    messageRateLimit: { limit: PER_WINDOW, windowMs: spec.windowMs },
    globalRateLimit: { limit: GLOBAL_PER_WINDOW, windowMs: spec.globalWindowMs },
  });
  parentPort!.on('message', async (msg: string) => {
    const stats: WorkerMessage = {
      kind: 'stats',
      pages: fake.stats.pages(),
      status429: fake.stats.status429,
    };
    if (msg === 'stop') await fake.stop();
    parentPort!.postMessage(stats);
  });
  parentPort!.postMessage({ kind: 'ready', apiUrl: fake.apiUrl, token: fake.token } satisfies WorkerMessage);
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

function ask(worker: Worker, what: 'stats' | 'stop'): Promise<Extract<WorkerMessage, { kind: 'stats' }>> {
  return new Promise((resolve) => {
    const on = (msg: WorkerMessage) => {
      if (msg.kind !== 'stats') return;
      worker.off('message', on);
      resolve(msg);
    };
    worker.on('message', on);
    worker.postMessage(what);
  });
}

async function main(): Promise<void> {
  const channels = arg('channels', 20);
  const stored = arg('messages', 100_000);
  const windowMs = arg('window-ms', 5000);
  const globalWindowMs = arg('global-window-ms', 1000);
  // 31 days of history: N over the 30 days that ended a day ago, about N / 30 in the last day.
  const perChannel = Math.round((stored * 31) / 30 / channels);
  const now = Date.now();
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { channels, perChannel, now, windowMs, globalWindowMs } satisfies FakeSpec,
  });
  const ready = await new Promise<Extract<WorkerMessage, { kind: 'ready' }>>((resolve) => {
    worker.once('message', (m: WorkerMessage) => resolve(m as Extract<WorkerMessage, { kind: 'ready' }>));
  });
  const plugin = createDiscordPlugin({
    api: ready.apiUrl,
    historyRequestsPerWindow: PER_WINDOW,
    historyWindowMs: windowMs,
    globalRequestsPerWindow: GLOBAL_PER_WINDOW,
    globalWindowMs,
  });
  const t = await createTestDb('postgres');
  try {
    const cipher = new CredentialCipher(randomBytes(32));
    const settings = new SettingsService(t.db, { env: {} });
    await settings.update({
      'sync.discord.messagesPerMinute': GLOBAL_PER_WINDOW * 60,
      'sync.chatConcurrency': channels,
    });
    const benchId = crypto.randomUUID();
    const { id } = await t.db
      .insertInto('instances')
      .values({
        id: benchId,
        name: 'bench',
        channel: 'discord',
        credentials: cipher.encryptJson({ token: ready.token }, benchId),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const jobs = new JobRepository(t.db);
    const runner = createSyncRunner(
      {
        db: t,
        settings,
        plugins: new PluginRegistry([plugin]),
        cipher,
        events: new InProcessEventBus(),
        jobs,
      },
      noopLogger,
    );
    const run = async (config: SyncJobConfig) => {
      const before = await ask(worker, 'stats');
      const { job } = await jobs.createJob(id, 'messages', config);
      const started = performance.now();
      const result = await runner.runJob(job.id, 'bench');
      const seconds = (performance.now() - started) / 1000;
      if (result?.status !== 'completed') throw new Error(`job ended ${result?.status}: ${result?.error}`);
      const after = await ask(worker, 'stats');
      return {
        progress: readProgress(result.job?.progress),
        seconds,
        requests: after.pages - before.pages,
        status429: after.status429 - before.status429,
      };
    };

    const dayAgo = now - DAY;
    const setup = await run({
      since: new Date(dayAgo - 30 * DAY).toISOString(),
      until: new Date(dayAgo).toISOString(),
    });
    // The day between the syncs: the previous run's per-channel and global windows have long
    // emptied. Wait them out rather than time the setup's tail.
    await Bun.sleep(windowMs + globalWindowMs);
    const incremental = await run({ depth: '30d' });
    const perChat = await t.db
      .selectFrom('messages')
      .select((eb) => ['chat_external_id', eb.fn.countAll<string>().as('n')])
      .where('instance_id', '=', id)
      .where('sent_at', '>=', new Date(dayAgo))
      .groupBy('chat_external_id')
      .execute();
    const newMessages = perChat.reduce((n, c) => n + Number(c.n), 0);
    const minRequests = perChat.reduce((n, c) => n + Math.ceil(Number(c.n) / 100), 0);
    if (newMessages !== incremental.progress.stored) {
      throw new Error(`incremental stored ${incremental.progress.stored}, the last day holds ${newMessages}`);
    }
    await Bun.sleep(windowMs + globalWindowMs);
    const full = await run({ depth: '30d', force: true });
    const chats = incremental.progress.chatsTotal;
    console.log(
      JSON.stringify({
        bench: 'incremental',
        chats,
        storedBefore: setup.progress.stored,
        newMessages,
        requests: incremental.requests,
        minRequests,
        seconds: Number(incremental.seconds.toFixed(3)),
        fullRequests: full.requests,
        fullSeconds: Number(full.seconds.toFixed(3)),
        fullFetched: full.progress.fetched,
        requestsWithinGoal: incremental.requests <= minRequests + chats,
        timeShareOfFull: Number((incremental.seconds / full.seconds).toFixed(4)),
        status429: setup.status429 + incremental.status429 + full.status429,
        runner: 'createSyncRunner (production), Discord limits',
        loadavg1m: Number(loadavg()[0]!.toFixed(2)),
      }),
    );
  } finally {
    await t.close();
    await ask(worker, 'stop');
    await worker.terminate();
  }
}

if (Bun.isMainThread) await main();
else await runFake(workerData as FakeSpec);
