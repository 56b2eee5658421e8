/**
 * `bun run bench api-load [--connections 10,50] [--seconds S] [--rounds R] [--max-requests N]
 *  [--routes bare,job,chat-messages,bare-chat,bare-db] [--job-status running|completed] [--running-jobs J]
 *  [--chat-messages N] [--page-cache-mb M] [--live-every-ms L]`
 *
 * `GET /api/v2/instances/:id/sync/:jobId` of the real app (`buildApp`: auth, TypeBox validation
 * and serialisation, the job read — one indexed query on the local Postgres, its row reused for a
 * short time as `JobSnapshots` describes) under concurrent keep-alive load,
 * against a bare Fastify route in the same process returning the same JSON document from memory
 * (no auth, no schema, no database): the difference is what the app adds per request.
 *
 * The jobs read are `--running-jobs` (default 1,000) `running` jobs, one per instance, polled
 * ROUND-ROBIN (request k reads job k mod J), whose progress rows are all updated and a
 * `sync.progress` event published for each every 500 ms during the load, as runners do — so
 * the route's snapshots keep being dropped and re-read and one job's cache never serves the next
 * poll, as when dashboards poll a busy fleet. `--job-status completed` reads finished jobs instead.
 *
 * Load comes from autocannon in a child process (bench/lib/http-load.ts), 127.0.0.1 only,
 * bounded by `--seconds` (default 8) and `--max-requests` (default 200,000) per run. For each
 * connection count, bare and job runs alternate for `--rounds` rounds (default 3) after a short
 * warm-up of each. Prints one JSON line per run:
 *   {"bench":"api-load","route":"job"|"bare","connections","requests","rps","p50Ms","p99Ms",…}
 * and per connection count a summary line with the medians over the rounds and
 * `p99Ratio` = median job p99 / median bare p99 (target ≤ 2). `--routes` may add `bare-db`: a bare
 * route doing the app's job query on every request (no snapshot), i.e. what polling would cost
 * if every poll went to the database.
 *
 * `chat-messages`: `GET /api/v2/chats/:id/messages?limit=50` of one chat of `--chat-messages`
 * (default 1,000,000) stored messages, paging back from the newest: request k asks for page
 * k mod P of P = 1,000 pages spread evenly over the whole history (the first without a cursor,
 * the others with the cursor the previous page would hand back) — keyset pages on the
 * `(instance_id, chat_external_id, sent_at, id)` index, the deepest one a million rows back. Its
 * summary fields: `chatMessagesP99Ms` and `chatMessagesP99Ratio` = its median p99 / the bare
 * route's (target ≤ 3). The app runs with its message-page cache as production does (64 MiB;
 * `--page-cache-mb M` sets it as `MESSAGE_PAGE_CACHE_MB` would, 0 = every page from Postgres): the
 * 1,000 pages (35 MB) fit, so after its first reading each page is answered from the cache until
 * a change of what it shows commits or it ages out (5 min). The chat meanwhile receives a live
 * message every `--live-every-ms` (default 500 ms; through DedupeWriter, as live messages are
 * written), which drops its newest page each time; the summary checks that the newest page shows
 * the latest of them (`newestPageCurrent`, the bench fails otherwise) and counts them
 * (`liveWrites`). `pageCacheHitShare` (run lines and summary) is the share of pages answered from
 * the cache. Each page is asked for many times a run, so hits are the rule here; a page's first
 * read costs what `--page-cache-mb 0` measures.
 *
 * `bare-chat` (with `chat-messages`): a bare route answering the newest page's document (35 KB)
 * from memory — what the page's size alone costs the server and the load generator, the floor the
 * chat route cannot go under; summary fields `bareChatP99Ms`, `bareChatP99Ratio` (÷ bare).
 *
 * Every run line also carries the CPU per request of this process (`appCpuUsPerRequest`: the app,
 * the bare routes and the simulated runners) and of the bench database's Postgres backends
 * (`pgCpuUsPerRequest`); the job route's lines the share of polls that read the database. The
 * simulated runners' own CPU, measured for 2 s with no load before the runs, is in the summary as
 * `runnersCpuMsPerSecond` (`app`, `pg`): it runs during every route's runs and is divided by each
 * run's requests, so a route serving fewer requests a second carries more of it per request.
 */
import { encodeCursor } from '../apps/api/src/services/mappers.ts';
import {
  DedupeWriter,
  emptyProgress,
  instanceId,
  type NormalizedMessage,
  type SyncProgress,
} from '../packages/sync-core/src/index.ts';
import { BENCH_API_KEY, startBenchApi } from './lib/api-server.ts';
import { numberArg, stringArg } from './lib/args.ts';
import { type BareFastify, startBareFastify } from './lib/fastify.ts';
import { type HttpLoadResult, type LoadRequest, runHttpLoad } from './lib/http-load.ts';
import { connect } from './lib/pg-client.ts';
import { cpuNow, cpuSince } from './lib/process-cpu.ts';
import { logger, printResult, round } from './lib/report.ts';

const CONNECTIONS = stringArg('connections', '10,50').split(',').map(Number);
const SECONDS = numberArg('seconds', 8);
const ROUNDS = numberArg('rounds', 3);
const MAX_REQUESTS = numberArg('max-requests', 200_000);
const ROUTES = stringArg('routes', 'bare,job,chat-messages,bare-chat').split(',') as Route[];
/** Messages in the one chat the `chat-messages` route pages through. */
const CHAT_MESSAGES = numberArg('chat-messages', 1_000_000);
/** `--page-cache-mb M`: the app's message-page cache as `MESSAGE_PAGE_CACHE_MB=M` sets it (0: off); production's default when absent. */
const PAGE_CACHE_MB = process.argv.includes('--page-cache-mb') ? numberArg('page-cache-mb', 64) : undefined;
/** Pages of that chat the load cycles through, spread evenly from the newest to the oldest. */
const CHAT_PAGES = 1000;
const CHAT_PAGE_SIZE = 50;
const JOB_STATUS = stringArg('job-status', 'running') === 'completed' ? 'completed' : 'running';
/** Jobs polled round-robin, each the running job of its own instance. */
const RUNNING_JOBS = numberArg('running-jobs', 1000);
/** How often the simulated runner writes the running job's progress and publishes it, ms. */
const PROGRESS_EVERY_MS = 500;
/**
 * `--live-every-ms L` (default 500; 0: none): the paged chat receives a new message every L ms
 * during the runs, written as a live message is (DedupeWriter, source `live`) — a chat still being
 * talked in while dashboards page through it, so the cache keeps dropping its newest page.
 */
const LIVE_EVERY_MS = numberArg('live-every-ms', 500);
const WARMUP_SECONDS = 2;
/** Other instances and jobs in the tables, so lookups are not on one-row tables. */
const OTHER_INSTANCES = 50;
const JOBS_PER_INSTANCE = 20;

const log = logger('api-load');

/**
 * `bare`: the document from memory; `job`: the app's route; `bare-db`: a bare Fastify route doing
 * the app's job query (the job of the instance) through the same Kysely pool on every request — what
 * the database alone costs, without the app's auth, validation and serialisation.
 */
type Route = 'bare' | 'job' | 'bare-db' | 'chat-messages' | 'bare-chat';

/** A finished 30-day sync of 20 channels, as the runner leaves it. */
function finishedProgress(): SyncProgress {
  return {
    ...emptyProgress(),
    fetched: 48_213,
    stored: 47_950,
    duplicates: 263,
    updated: 41,
    mediaDownloaded: 1_204,
    mediaSkipped: 12,
    mediaBytes: 812_345_678,
    rateLimitWaits: 37,
    rateLimitWaitMs: 18_400,
    chatsTotal: 20,
    chatsDone: 20,
    chatsExhausted: 3,
    oldestTimestamp: '2026-10-26T08:14:03.000Z',
    etaSeconds: 0,
    warnings: ['members intent refused: contacts limited to message authors'],
    parts: { profile: 'done', messages: 'done' },
    window: { depth: '30d', since: '2026-10-26T08:00:00.000Z', until: '2026-11-25T08:00:00.000Z' },
    exhaustedChats: [
      { chatId: '1310000000000000001', name: 'announcements', oldestTimestamp: '2026-11-02T10:00:00.000Z' },
      { chatId: '1310000000000000002', name: 'off-topic', oldestTimestamp: '2026-11-10T18:30:00.000Z' },
      { chatId: '1310000000000000003', name: 'bots', oldestTimestamp: null },
    ],
    mediaSkipReasons: { size: 9, type: 3 },
  };
}

/**
 * One chat of `count` messages (one a second back from now, every 25th with media), stored by
 * one `INSERT … SELECT` (the chat row and its counts come from the trigger), and the paths of
 * `CHAT_PAGES` pages spread over it, newest first.
 */
async function seedChat(
  db: Awaited<ReturnType<typeof startBenchApi>>['db']['db'],
  url: string,
  count: number,
): Promise<{ pages: LoadRequest[]; instanceId: string }> {
  const instance = await db
    .insertInto('instances')
    .values({ name: 'bench-chat', channel: 'discord', connection_state: 'open' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const admin = await connect(url);
  const started = performance.now();
  await admin.query(
    `insert into messages (instance_id, chat_external_id, external_id, sender_id, sender_name, sent_at, kind, text,
       has_media, media_mime_type, media_url)
     select $1::uuid, 'bench-chat', 'm' || n, 'u' || (n % 40), 'user ' || (n % 40),
       now() - make_interval(secs => n), case when n % 25 = 0 then 'image' else 'text' end,
       'message number ' || n || ' of the bench chat, long enough to look like a real line of chat',
       n % 25 = 0, case when n % 25 = 0 then 'image/png' end,
       case when n % 25 = 0 then 'https://cdn.example/attachments/' || n || '.png' end
     from generate_series(1, $2::int) as n`,
    [instance.id, count],
  );
  await admin.query('ANALYZE messages');
  await admin.query('ANALYZE chats');
  const rows = await admin.query<{ sent: string; id: string }>(
    `select to_char(sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sent, id
     from (select sent_at, id, row_number() over (order by sent_at desc, id desc) as n
           from messages where instance_id = $1 and chat_external_id = 'bench-chat') ranked
     where n % $2 = 0 and n <= $3 - $2 order by n`,
    [instance.id, CHAT_PAGE_SIZE, count],
  );
  await admin.end();
  const chat = await db
    .selectFrom('chats')
    .select('id')
    .where('instance_id', '=', instance.id)
    .where('external_id', '=', 'bench-chat')
    .executeTakeFirstOrThrow();
  const every = Math.max(1, Math.floor(rows.rows.length / CHAT_PAGES));
  const cursors = [null, ...rows.rows.filter((_, i) => i % every === every - 1).slice(0, CHAT_PAGES - 1)];
  log(
    `chat of ${count} messages seeded in ${Math.round(performance.now() - started)} ms, ${cursors.length} pages`,
  );
  return {
    instanceId: instance.id,
    pages: cursors.map((c) => ({
      path: `/api/v2/chats/${chat.id}/messages?limit=${CHAT_PAGE_SIZE}${c ? `&cursor=${encodeCursor([c.sent, c.id])}` : ''}`,
    })),
  };
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const api = await startBenchApi(PAGE_CACHE_MB === undefined ? {} : { messagePageCacheMb: PAGE_CACHE_MB });
  let bare: BareFastify | null = null;
  let stopProgress = () => {};
  try {
    const { db } = api.db;
    const instances = await db
      .insertInto('instances')
      .values(
        Array.from({ length: OTHER_INSTANCES + RUNNING_JOBS }, (_, i) => ({
          name: `bench-${i}`,
          channel: 'discord' as const,
          connection_state: 'open',
        })),
      )
      .returning('id')
      .execute();
    for (const { id } of instances) {
      await db
        .insertInto('sync_jobs')
        .values(
          Array.from({ length: JOBS_PER_INSTANCE }, () => ({
            instance_id: id,
            type: 'messages' as const,
            status: 'completed' as const,
            config: JSON.stringify({ depth: '30d', downloadMedia: true }),
            progress: JSON.stringify(finishedProgress()),
            started_at: new Date(Date.now() - 600_000),
            completed_at: new Date(),
            attempts: 1,
          })),
        )
        .execute();
    }
    const admin = await connect(api.db.url as string);
    await admin.query('ANALYZE');
    await admin.end();
    const seeded = ROUTES.includes('chat-messages')
      ? await seedChat(db, api.db.url as string, CHAT_MESSAGES)
      : null;
    const chatPages = seeded?.pages ?? [];
    // The chat's live messages during the runs (see LIVE_EVERY_MS).
    const live = { writes: 0, last: null as string | null, writing: false };
    const liveWriter = new DedupeWriter(db);
    const liveTimer =
      seeded && LIVE_EVERY_MS > 0
        ? setInterval(() => {
            if (live.writing) return;
            live.writing = true;
            const id = `live-${live.writes + 1}`;
            void liveWriter
              .writeBatch({
                instanceId: instanceId(seeded.instanceId),
                source: 'live',
                messages: [
                  {
                    externalId: id,
                    chatId: 'bench-chat',
                    senderId: 'u1',
                    senderName: 'user 1',
                    timestamp: Date.now(),
                    kind: 'text',
                    text: `live message ${live.writes + 1}`,
                    media: [],
                  } as unknown as NormalizedMessage,
                ],
              })
              .then(() => {
                live.writes += 1;
                live.last = id;
              })
              .finally(() => {
                live.writing = false;
              });
          }, LIVE_EVERY_MS)
        : null;
    // The polled jobs: the newest job of each of the first RUNNING_JOBS instances.
    const polled = await Promise.all(
      instances.slice(0, RUNNING_JOBS).map(async ({ id }) => ({
        instanceId: id,
        jobId: (
          await db
            .selectFrom('sync_jobs')
            .select('id')
            .where('instance_id', '=', id)
            .executeTakeFirstOrThrow()
        ).id,
      })),
    );
    const target = polled[0]?.instanceId as string;
    const job = { id: polled[0]?.jobId as string };
    const polledIds = polled.map((p) => p.jobId);
    let progressWriter: ReturnType<typeof setInterval> | null = null;
    if (JOB_STATUS === 'running') {
      await db
        .updateTable('sync_jobs')
        .set({ status: 'running', completed_at: null })
        .where('id', 'in', polledIds)
        .execute();
      let fetched = 0;
      let writing = false;
      progressWriter = setInterval(() => {
        if (writing) return;
        writing = true;
        fetched += 100;
        const progress = { ...finishedProgress(), fetched, etaSeconds: 60 };
        void db
          .updateTable('sync_jobs')
          .set({ progress: JSON.stringify(progress) })
          .where('id', 'in', polledIds)
          .execute()
          .then(async () => {
            const at = new Date().toISOString();
            for (const p of polled) {
              await api.deps.events.publish({
                type: 'sync.progress',
                instanceId: p.instanceId,
                jobId: p.jobId,
                jobType: 'messages',
                at,
                status: 'running',
                progress,
              });
            }
          })
          .finally(() => {
            writing = false;
          });
      }, PROGRESS_EVERY_MS);
    } else {
      await db
        .updateTable('sync_jobs')
        .set({ progress: JSON.stringify(finishedProgress()) })
        .where('id', 'in', polledIds)
        .execute();
    }
    stopProgress = () => {
      if (progressWriter) clearInterval(progressWriter);
      if (liveTimer) clearInterval(liveTimer);
    };
    const jobPath = `/api/v2/instances/${target}/sync/${job.id}`;
    const jobMix: LoadRequest[] = polled.map((p) => ({
      path: `/api/v2/instances/${p.instanceId}/sync/${p.jobId}`,
    }));
    const headers = { 'x-api-key': BENCH_API_KEY };
    const check = await fetch(`${api.origin}${jobPath}`, { headers });
    const body = await check.text();
    if (check.status !== 200) throw new Error(`job route answered ${check.status}: ${body}`);
    const document = JSON.parse(body) as unknown;
    let chatBytes: number | undefined;
    let chatDocument: unknown = null;
    for (const page of [chatPages[0], chatPages.at(-1)]) {
      if (!page) continue;
      const res = await fetch(`${api.origin}${page.path}`, { headers });
      const text = await res.text();
      const items = (JSON.parse(text) as { items?: unknown[] }).items?.length;
      if (res.status !== 200 || items !== CHAT_PAGE_SIZE) {
        throw new Error(`chat page answered ${res.status} with ${items} items: ${text.slice(0, 300)}`);
      }
      chatBytes ??= text.length;
      chatDocument ??= JSON.parse(text);
    }
    const started = await startBareFastify((app) => {
      app.get('/bare', async () => document);
      app.get('/bare-db', async () => ({ job: await api.deps.jobs.findInstanceJob(target, job.id) }));
      // The floor of a page of 50 messages: the newest page's document from memory, serialised
      // by Fastify's default (JSON.stringify) — no auth, no schema, no database.
      app.get('/bare-chat', async () => chatDocument);
    });
    bare = started.app;
    const bareUrl = `${started.origin}/bare`;
    const bareBytes = (await (await fetch(bareUrl)).text()).length;
    log(`job document ${body.length} bytes, bare ${bareBytes} bytes`);

    const targets: Record<Route, { url: string; headers: Record<string, string>; requests?: LoadRequest[] }> =
      {
        bare: { url: bareUrl, headers: {} },
        job: { url: `${api.origin}${jobPath}`, headers, requests: jobMix },
        'bare-db': { url: `${started.origin}/bare-db`, headers: {} },
        'bare-chat': { url: `${started.origin}/bare-chat`, headers: {} },
        'chat-messages': {
          url: `${api.origin}${chatPages[0]?.path ?? '/'}`,
          headers,
          requests: chatPages,
        },
      };
    const database = new URL(api.db.url as string).pathname.slice(1);
    /**
     * A load run, with the CPU this process (app, bare routes, simulated runner) and the bench
     * database's Postgres backends used per request.
     */
    const run = async (route: Route, connections: number, seconds: number) => {
      const mark = cpuNow(database);
      const snapshots = api.app.jobSnapshots.stats();
      const pagesBefore = api.app.messagePages.stats();
      const res = await runHttpLoad({
        url: targets[route].url,
        headers: targets[route].headers,
        ...(targets[route].requests ? { requests: targets[route].requests } : {}),
        connections,
        durationSeconds: seconds,
        maxRequests: MAX_REQUESTS,
      });
      const used = cpuSince(mark);
      const after = api.app.jobSnapshots.stats();
      const pagesAfter = api.app.messagePages.stats();
      const pageReads = pagesAfter.hits + pagesAfter.misses - pagesBefore.hits - pagesBefore.misses;
      return {
        ...res,
        // Job route: database reads per poll (in the background too), and the share of polls
        // that waited for one (the rest were answered from a snapshot at once).
        jobDbReadShare:
          route === 'job' ? round((after.reads - snapshots.reads) / Math.max(1, res.requests), 4) : undefined,
        jobDbWaitShare:
          route === 'job'
            ? round(
                (after.misses - snapshots.misses) /
                  Math.max(1, after.misses - snapshots.misses + after.hits - snapshots.hits),
                4,
              )
            : undefined,
        // Chat route: the share of pages answered from the message-page cache.
        pageCacheHitShare:
          route === 'chat-messages'
            ? round((pagesAfter.hits - pagesBefore.hits) / Math.max(1, pageReads), 4)
            : undefined,
        appCpuUs: round((used.selfMs * 1000) / Math.max(1, res.requests), 1),
        pgCpuUs:
          used.postgresMs === null ? null : round((used.postgresMs * 1000) / Math.max(1, res.requests), 1),
      };
    };
    // What the simulated runners cost the process with no load: their row writes and events.
    const idle = cpuNow(database);
    await Bun.sleep(2000);
    const idleUsed = cpuSince(idle);
    log(
      `no load: this process ${round(idleUsed.selfMs / 2, 1)} ms CPU/s, Postgres ${idleUsed.postgresMs === null ? '?' : round(idleUsed.postgresMs / 2, 1)} ms CPU/s`,
    );

    for (const connections of CONNECTIONS) {
      for (const route of ROUTES) await run(route, connections, WARMUP_SECONDS);
      const results: Record<
        Route,
        (HttpLoadResult & {
          appCpuUs: number;
          pgCpuUs: number | null;
          jobDbReadShare?: number | undefined;
          jobDbWaitShare?: number | undefined;
          pageCacheHitShare?: number | undefined;
        })[]
      > = {
        bare: [],
        job: [],
        'bare-db': [],
        'bare-chat': [],
        'chat-messages': [],
      };
      for (let r = 1; r <= ROUNDS; r++) {
        for (const route of ROUTES) {
          const res = await run(route, connections, SECONDS);
          if (res.ok !== res.requests || res.errors > 0) {
            throw new Error(`${route}: ${res.requests - res.ok} non-2xx, ${res.errors} errors`);
          }
          results[route].push(res);
          printResult({
            bench: 'api-load',
            route,
            connections,
            round: r,
            requests: res.requests,
            rps: res.rps,
            p50Ms: res.p50Ms,
            p90Ms: res.p90Ms,
            p99Ms: res.p99Ms,
            maxMs: res.maxMs,
            seconds: res.seconds,
            appCpuUsPerRequest: res.appCpuUs,
            ...(route === 'job'
              ? { jobDbReadShare: res.jobDbReadShare, jobDbWaitShare: res.jobDbWaitShare }
              : {}),
            ...(route === 'chat-messages' ? { pageCacheHitShare: res.pageCacheHitShare } : {}),
            pgCpuUsPerRequest: res.pgCpuUs,
            bodyBytes:
              route === 'job'
                ? body.length
                : route === 'bare'
                  ? bareBytes
                  : route === 'chat-messages' || route === 'bare-chat'
                    ? chatBytes
                    : undefined,
          });
        }
      }
      // The newest page under load shows the chat's latest live message (the cache dropped it).
      let newestPageCurrent: boolean | undefined;
      if (chatPages[0] && live.last !== null) {
        newestPageCurrent = false;
        for (let i = 0; i < 50 && !newestPageCurrent; i++) {
          const expected = live.last;
          const res = await fetch(`${api.origin}${chatPages[0].path}`, { headers });
          const first = (JSON.parse(await res.text()) as { items: { externalId: string }[] }).items[0];
          newestPageCurrent = first?.externalId === expected || first?.externalId === live.last;
          if (!newestPageCurrent) await Bun.sleep(20);
        }
        if (!newestPageCurrent)
          throw new Error(`the newest page does not show the latest live message ${live.last}`);
      }
      const p99 = (route: Route) => median(results[route].map((x) => x.p99Ms));
      const rps = (route: Route) => Math.round(median(results[route].map((x) => x.rps)));
      /** Median CPU per request of this process (`app`) and of Postgres (`pg`), µs. */
      const cpu = (route: Route) => ({
        app: round(median(results[route].map((x) => x.appCpuUs)), 1),
        pg: results[route].some((x) => x.pgCpuUs === null)
          ? null
          : round(median(results[route].map((x) => x.pgCpuUs as number)), 1),
      });
      printResult({
        bench: 'api-load',
        summary: true,
        connections,
        rounds: ROUNDS,
        bareRps: rps('bare'),
        jobRps: rps('job'),
        bareP99Ms: round(p99('bare'), 3),
        jobP99Ms: round(p99('job'), 3),
        ...(ROUTES.includes('bare-db')
          ? { bareDbRps: rps('bare-db'), bareDbP99Ms: round(p99('bare-db'), 3) }
          : {}),
        jobStatus: JOB_STATUS,
        polledJobs: polled.length,
        polling: 'round-robin',
        p99Ratio: round(p99('job') / p99('bare'), 2),
        target: 'p99Ratio <= 2',
        jobDbReadShare: round(median(results.job.map((x) => x.jobDbReadShare ?? 0)), 4),
        jobDbWaitShare: round(median(results.job.map((x) => x.jobDbWaitShare ?? 0)), 4),
        cpuUsPerRequest: Object.fromEntries(ROUTES.map((route) => [route, cpu(route)])),
        // Counted in every route's figures above: a slower route carries more of it per request.
        runnersCpuMsPerSecond: {
          app: round(idleUsed.selfMs / 2, 1),
          pg: idleUsed.postgresMs === null ? null : round(idleUsed.postgresMs / 2, 1),
        },
        ...(ROUTES.includes('chat-messages')
          ? {
              chatMessagesRps: rps('chat-messages'),
              chatMessagesP99Ms: round(p99('chat-messages'), 3),
              chatMessagesP99Ratio: round(p99('chat-messages') / p99('bare'), 2),
              chatMessages: CHAT_MESSAGES,
              chatPages: chatPages.length,
              pageCacheMb: PAGE_CACHE_MB ?? 'default (64)',
              pageCacheHitShare: round(
                median(results['chat-messages'].map((x) => x.pageCacheHitShare ?? 0)),
                4,
              ),
              chatTarget: 'chatMessagesP99Ratio <= 3',
              liveEveryMs: LIVE_EVERY_MS,
              liveWrites: live.writes,
              newestPageCurrent,
            }
          : {}),
        ...(ROUTES.includes('bare-chat') && chatDocument !== null
          ? {
              bareChatRps: rps('bare-chat'),
              bareChatP99Ms: round(p99('bare-chat'), 3),
              bareChatP99Ratio: round(p99('bare-chat') / p99('bare'), 2),
            }
          : {}),
      });
    }
  } finally {
    stopProgress();
    await bare?.close().catch(() => {});
    await api.close();
  }
}

await main();
