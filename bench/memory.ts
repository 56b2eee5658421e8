/**
 * `bun run bench memory [--media] [--messages N] [--channels C] [--chat-concurrency K] [--samples FILE]
 *  [--max-attachment-kb A] [--gc-interval-ms G] [--gc-each-sample] [--heap-snapshots DIR]
 *  [--type-counts] [--max-seconds S]`
 *
 * A `messages` job (depth `all`) of N messages (default 1,000,000) over C channels (default 20)
 * through the production runner — `createSyncRunner` of @omni/runtime (settings from the database,
 * `DedupeWriter`, `MediaStorageService`) and the Discord plugin — into a throw-away database on
 * the local Postgres. `--media` is the media variant: media download on (stored under a temp
 * folder, the fake's CDN allowed through MEDIA_ALLOW_ORIGINS), by default 2,400 messages whose
 * attachments (up to `--max-attachment-kb`, default 4,096 KB each) add up to about 500 MB;
 * `mediaMb` reports what was stored. Peak memory is the kernel's high-water mark of this
 * process's resident set (`VmHWM` in /proc/self/status, reset through /proc/self/clear_refs after
 * start-up), not the highest of the 1 Hz samples: a spike between two samples is counted. The fake Discord runs in a
 * child process, so the RSS sampled here (every second) is the sync's own. Limits are raised so
 * the run measures the engine, not the pacing: the fake allows 100,000 history requests per
 * second per channel and globally, the plugin's sliding windows match it, and the engine's bucket
 * gets 60,000 requests per minute (`sync.discord.messagesPerMinute`: 1,000 a second, far above
 * the ~100 a second one process sends here).
 *
 * Garbage is collected as the worker does it: the runner's batch commits tick the worker's
 * `CollectorPacer` (a full collection at most every `--gc-interval-ms`, default the worker's
 * `WORKER_GC_INTERVAL_MS` default of 1000; `0` leaves collection to the runtime alone).
 *
 * Prints one JSON line:
 *   {"bench":"memory","messages","seconds","peakRssMb","rssAt100kMb","rssEndMb","growthPct",…}
 * `rssAt100kMb` is the first sample taken once 100,000 messages were stored; `rssEndMb` the one
 * taken when the job completed; `growthPct` is their difference relative to `rssAt100kMb`. RSS
 * swings by several MB from one second to the next as the allocator keeps or returns pages, so
 * one sample can land high or low: `growthPctMedian5` compares the median of the 5 samples from
 * the mark on with the median of the last 5 samples, a steadier reading of the same growth.
 * Every sample (RSS, JS heap, external memory, messages stored, and the high-water mark so far,
 * `hwmMb`) is appended to `--samples` as a JSON line as it is taken. `--gc-each-sample` runs a full `Bun.gc(true)` before each sample (tells garbage from
 * retained memory); `--heap-snapshots DIR` writes V8-format heap snapshots at 100k and at the end;
 * `--type-counts` logs which JS object types grew in number between those two points.
 */

import { heapStats } from 'bun:jsc';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { createDiscordPlugin } from '../packages/channel-discord/src/index.ts';
import { CredentialCipher, SettingsService } from '../packages/db/src/index.ts';
import { createTestDb } from '../packages/db/src/testing.ts';
import { createSyncRunner, InProcessEventBus } from '../packages/runtime/src/index.ts';
import { DEFAULT_COLLECTOR_PACER_OPTIONS } from '../packages/runtime/src/runtime/collector-pacer.ts';
import { JobRepository, noopLogger, PluginRegistry, readProgress } from '../packages/sync-core/src/index.ts';
import { flagArg, numberArg, stringArg } from './lib/args.ts';
import { startFakeDiscordProcess } from './lib/fake-discord-process.ts';
import { logger, printResult, round } from './lib/report.ts';
import { RssSampler } from './lib/rss-sampler.ts';

const MEDIA = flagArg('media');
const MESSAGES = numberArg('messages', MEDIA ? 2_400 : 1_000_000);
const MAX_ATTACHMENT_BYTES = numberArg('max-attachment-kb', MEDIA ? 4096 : 1) * 1024;
const CHANNELS = numberArg('channels', 20);
const CHAT_CONCURRENCY = numberArg('chat-concurrency', 4);
const MARK = Math.min(100_000, Math.floor(MESSAGES / 10));
const SAMPLES_FILE = stringArg('samples', '/tmp/omni-bench-memory-samples.jsonl');
const GC_EACH_SAMPLE = flagArg('gc-each-sample');
const GC_INTERVAL_MS = numberArg('gc-interval-ms', DEFAULT_COLLECTOR_PACER_OPTIONS.intervalMs);
const SNAPSHOT_DIR = stringArg('heap-snapshots', '');
const TYPE_COUNTS = flagArg('type-counts');
const MAX_SECONDS = numberArg('max-seconds', 1800);
/** Requests per window far above what one client can send: the limits never bind. */
const OPEN_LIMIT = { limit: 100_000, windowMs: 1000 };

const log = logger('memory');

/** The kernel's high-water mark of this process's resident set (`VmHWM`), MB. */
const highWaterMarkMb = (): number =>
  round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024, 1);

async function main(): Promise<void> {
  const counts = Array.from(
    { length: CHANNELS },
    (_, i) => Math.floor(MESSAGES / CHANNELS) + (i < MESSAGES % CHANNELS ? 1 : 0),
  );
  const now = Date.now();
  const fake = await startFakeDiscordProcess({
    data: {
      seed: 7,
      nowMs: now,
      maxAttachmentBytes: MAX_ATTACHMENT_BYTES,
      guilds: [
        {
          name: 'bench',
          memberCount: 50,
          channels: counts.map((n, i) => ({ name: `c${i}`, messageCount: n, historyDays: 365 })),
        },
      ],
    },
    messageRateLimit: OPEN_LIMIT,
    globalRateLimit: OPEN_LIMIT,
    routeRateLimit: OPEN_LIMIT,
  });
  const plugin = createDiscordPlugin({
    api: fake.apiUrl,
    historyRequestsPerWindow: OPEN_LIMIT.limit,
    historyWindowMs: OPEN_LIMIT.windowMs,
    globalRequestsPerWindow: OPEN_LIMIT.limit,
    globalWindowMs: OPEN_LIMIT.windowMs,
  });
  const t = await createTestDb('postgres');
  const mediaDir = mkdtempSync(join(tmpdir(), 'omni-bench-memory-media-'));
  let stored = 0;
  let snapshotAtMark = false;
  const typeCounts: Record<string, Record<string, number>> = {};
  const snapshot = (label: string) => {
    if (TYPE_COUNTS) {
      Bun.gc(true);
      typeCounts[label] = heapStats().objectTypeCounts;
    }
    if (!SNAPSHOT_DIR) return;
    mkdirSync(SNAPSHOT_DIR, { recursive: true });
    Bun.gc(true);
    const file = writeHeapSnapshot(join(SNAPSHOT_DIR, `memory-${label}.heapsnapshot`));
    log(`heap snapshot ${file}`);
  };
  try {
    const cipher = new CredentialCipher(randomBytes(32));
    const benchId = crypto.randomUUID();
    const { id } = await t.db
      .insertInto('instances')
      .values({
        id: benchId,
        name: 'bench',
        channel: 'discord',
        credentials: cipher.encryptJson({ token: fake.token }, benchId),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // The fake's CDN is on 127.0.0.1: the one documented exception to the media fetcher's checks.
    process.env.MEDIA_ALLOW_ORIGINS = new URL(fake.apiUrl).origin;
    const settings = new SettingsService(t.db, { env: { MEDIA_STORAGE_PATH: mediaDir } });
    await settings.update({
      'sync.discord.messagesPerMinute': 60_000,
      'sync.discord.contactsPerMinute': 60_000,
      'sync.chatConcurrency': CHAT_CONCURRENCY,
      'media.maxFileSizeMb': Math.ceil(MAX_ATTACHMENT_BYTES / 1048576) + 1,
    });
    let collections = 0;
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
      {
        gcIntervalMs: GC_INTERVAL_MS,
        onBatchCommitted: (info) => {
          stored += info.stored;
          collections += 1;
        },
      },
    );
    const { job } = await jobs.createJob(id, 'messages', {
      depth: 'all',
      downloadMedia: MEDIA,
    });

    Bun.gc(true);
    const baselineRssMb = round(process.memoryUsage().rss / 1048576, 1);
    let lastLog = 0;
    writeFileSync(SAMPLES_FILE, '');
    const sampler = new RssSampler(
      () => stored,
      1000,
      (s) => {
        // With the kernel's high-water mark so far: a spike between two samples shows where it happened.
        const hwmMb = highWaterMarkMb();
        appendFileSync(SAMPLES_FILE, `${JSON.stringify({ ...s, hwmMb })}\n`);
        if (s.t - lastLog >= 15) {
          lastLog = s.t;
          log(`${s.t}s stored ${s.progress} rss ${s.rssMb} MB heap ${s.heapUsedMb} MB`);
        }
      },
    );
    const gcTimer = GC_EACH_SAMPLE ? setInterval(() => Bun.gc(true), 1000) : null;
    const markTimer = setInterval(() => {
      if (!snapshotAtMark && stored >= MARK) {
        snapshotAtMark = true;
        snapshot('100k');
      }
    }, 250);
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), MAX_SECONDS * 1000);
    // Ctrl-C stops the run between batches, so the throw-away database is still dropped.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
    // The kernel's high-water mark of the resident set, from here on (5 = reset VmHWM to VmRSS).
    writeFileSync('/proc/self/clear_refs', '5');
    const started = performance.now();
    const result = await runner.runJob(job.id, 'bench-memory', { signal: abort.signal });
    const hwmMb = highWaterMarkMb();
    const seconds = (performance.now() - started) / 1000;
    clearTimeout(deadline);
    clearInterval(markTimer);
    if (gcTimer) clearInterval(gcTimer);
    const end = sampler.stop();
    log(`${sampler.samples.length} samples → ${SAMPLES_FILE}`);
    snapshot('end');
    Bun.gc(true);
    const afterGcRssMb = round(process.memoryUsage().rss / 1048576, 1);

    if (result?.status !== 'completed') throw new Error(`job ended ${result?.status}: ${result?.error}`);
    const progress = readProgress(result.job?.progress);
    const { n } = await t.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('instance_id', '=', id)
      .executeTakeFirstOrThrow();
    const fakeStats = await fake.stop();
    if (TYPE_COUNTS) logTypeGrowth(typeCounts['100k'] ?? {}, typeCounts.end ?? {});
    const atMark = sampler.firstAt(MARK);
    const rssAtMark = atMark?.rssMb ?? Number.NaN;
    const medianRss = (samples: readonly { rssMb: number }[]) => {
      const sorted = samples.map((x) => x.rssMb).sort((a, b) => a - b);
      return sorted.length > 0 ? (sorted[Math.floor(sorted.length / 2)] as number) : Number.NaN;
    };
    const fromMark = sampler.samples.filter((x) => x.progress >= MARK);
    const markMedian = medianRss(fromMark.slice(0, 5));
    const endMedian = medianRss(sampler.samples.slice(-5));
    printResult({
      bench: 'memory',
      messages: Number(n),
      variant: MEDIA ? 'media' : 'messages',
      seconds: round(seconds, 1),
      peakRssMb: hwmMb,
      peakSource: 'VmHWM (kernel high-water mark)',
      peakSampledRssMb: sampler.peakRssMb,
      target: MEDIA ? 'peakRssMb <= 200' : 'peakRssMb <= 150, growthPct < 10',
      ...(MEDIA
        ? {
            mediaMb: round(progress.mediaBytes / 1048576, 1),
            mediaDownloaded: progress.mediaDownloaded,
            mediaSkipped: progress.mediaSkipped,
            mediaFailed: progress.mediaFailed,
            maxAttachmentKb: MAX_ATTACHMENT_BYTES / 1024,
          }
        : {}),
      rssAt100kMb: rssAtMark,
      rssEndMb: end.rssMb,
      growthPct: round(((end.rssMb - rssAtMark) / rssAtMark) * 100, 1),
      rssAt100kMedian5Mb: markMedian,
      rssEndMedian5Mb: endMedian,
      growthPctMedian5: round(((endMedian - markMedian) / markMedian) * 100, 1),
      markMessages: MARK,
      baselineRssMb,
      heapUsedAt100kMb: atMark?.heapUsedMb,
      heapUsedEndMb: end.heapUsedMb,
      rssAfterFinalGcMb: afterGcRssMb,
      gcEachSample: GC_EACH_SAMPLE,
      gcIntervalMs: GC_INTERVAL_MS,
      batchCommits: collections,
      progressStored: progress.stored,
      channels: CHANNELS,
      chatConcurrency: CHAT_CONCURRENCY,
      historyRequests: fakeStats.historyRequests,
      status429: fakeStats.status429,
      fakePeakRssMb: fakeStats.peakRssMb,
      samples: sampler.samples.length,
    });
    if (Number(n) !== MESSAGES) {
      console.error(`expected ${MESSAGES} messages, got ${n}`);
      process.exitCode = 1;
    }
  } finally {
    await fake.stop().catch(() => {});
    await t.close();
    rmSync(mediaDir, { recursive: true, force: true });
  }
}

/** The JS object types whose live count grew most between two `heapStats()` (after full GCs). */
function logTypeGrowth(before: Record<string, number>, after: Record<string, number>): void {
  const growth = Object.entries(after)
    .map(([type, n]) => [type, n - (before[type] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20);
  log(
    `live objects grown between ${MARK} messages and the end: ${JSON.stringify(Object.fromEntries(growth))}`,
  );
}

await main();
