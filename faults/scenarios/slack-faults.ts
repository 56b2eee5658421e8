import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../apps/api/src/app.ts';
import { createSlackPlugin } from '../../packages/channel-slack/src/index.ts';
import { createTestDb } from '../../packages/db/src/testing.ts';
import {
  createSyncRunner,
  NatsJobQueue,
  openServices,
  RunnerExecutor,
  SingleProcessLock,
  WorkerRuntime,
} from '../../packages/runtime/src/index.ts';
import { MediaFetcher, readProgress, type SyncProgress } from '../../packages/sync-core/src/index.ts';
import { FakeSlack, type FakeSlackFault } from '../../packages/testkit/src/slack/index.ts';
import type { Scenario } from '../lib/scenario.ts';
import { counterDiff, idSetDiff, MESSAGE_COUNTERS } from '../lib/verify.ts';
import { check, ScenarioFailure, waitFor } from '../lib/wait.ts';

const AUTH = { 'x-api-key': 'faults-key' };
const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
const HISTORY = /^conversations\.(history|replies)$/;
/** Slack's per-minute windows run as this many ms (the request counts per window stay Slack's). */
const WINDOW_MS = 200;

/**
 * The fake Slack misbehaves on `conversations.history` and `conversations.replies` while a worker
 * (in this process, over NATS, into Postgres) syncs a workspace with threads: a storm of 429s with
 * `Retry-After`, 429s without it, 500 and 503 pages, `ok:false internal_error`, answers slower
 * than the request timeout, and JSON cut in half. Every message (threads included) must be stored,
 * the counters must equal a clean run's, and every 429 must show in `rateLimitWaits`.
 */
export const slackFaults: Scenario = {
  name: 'slack-faults',
  timeoutMs: () => 300_000,
  async run({ config, cleanup, prng, log }) {
    const perChannel = Math.max(60, Math.round(config.sizes.syncMessages / 4));
    const fake = await FakeSlack.start({
      data: {
        seed: 61,
        channels: [
          { name: 'one', messageCount: perChannel, historyDays: 10, threadEvery: 8, repliesPerThread: 4 },
          { name: 'two', messageCount: perChannel, historyDays: 10, threadEvery: 8, repliesPerThread: 4 },
        ],
      },
      tierWindowMs: WINDOW_MS,
    });
    cleanup.add('fake slack', () => fake.stop());
    const testDb = await createTestDb('postgres', { migrate: false });
    cleanup.add(`drop database ${testDb.url}`, () => testDb.close());
    const dir = mkdtempSync(join(tmpdir(), 'omni-faults-slack-'));
    cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    const tag = randomBytes(4).toString('hex');
    const names = {
      stream: `FAULTS_${tag}`,
      subjectPrefix: `faults.${tag}.jobs`,
      durable: `faults_${tag}`,
      eventPrefix: `faults.${tag}.sync`,
    };
    process.env.OMNI_SECRET_KEY = randomBytes(32).toString('hex');
    const plugin = createSlackPlugin({
      apiUrl: fake.apiUrl,
      tierWindowMs: WINDOW_MS,
      pacingMarginMs: 5,
      historyPageSize: 20,
      repliesPageSize: 2,
      requestTimeoutMs: 1000,
      unknownRetryAfterMs: 300,
    });
    const services = await openServices({
      databaseUrl: testDb.url as string,
      natsUrl: config.natsUrl,
      dataDir: dir,
      name: 'omni-faults-slack',
      plugins: [plugin],
      log: silentLog,
      nats: names,
    });
    cleanup.add('services', () => services.close());
    const queue = services.queue;
    if (queue instanceof NatsJobQueue) cleanup.add(`stream ${names.stream}`, () => queue.destroy());
    await services.settings.update({
      'sync.slack.messagesPerMinute': 60_000,
      'sync.slack.contactsPerMinute': 60_000,
    });
    const app = await buildApp({
      db: services.db,
      settings: services.settings,
      cipher: services.cipher,
      apiKey: 'faults-key',
      plugins: services.plugins,
      jobs: services.jobs,
      queue: services.queue,
      events: services.events,
      profiles: services.profiles,
    });
    await app.ready();
    cleanup.add('app', () => app.close());
    const runtime = new WorkerRuntime(
      {
        db: services.db.db,
        settings: services.settings,
        jobs: services.jobs,
        queue: services.queue,
        profiles: services.profiles,
        plugins: services.plugins,
        executor: new RunnerExecutor(
          createSyncRunner(services, silentLog, {
            leaseMs: 3_000,
            mediaFetcher: new MediaFetcher({ settings: services.settings, allowOrigins: [fake.url] }),
          }),
        ),
        lock: new SingleProcessLock(),
        log: silentLog,
      },
      { worker: { id: `slack-${tag}`, leaseMs: 3_000 }, reaper: { intervalMs: 300, stalePendingMs: 1_000 } },
    );
    await runtime.start();
    cleanup.add('worker', () => runtime.stop());

    const call = async (url: string, payload?: object) => {
      const res = await app.inject({
        method: payload ? 'POST' : 'GET',
        url: `/api/v2${url}`,
        headers: AUTH,
        ...(payload ? { payload } : {}),
      });
      if (res.statusCode >= 300) throw new ScenarioFailure(`${url} → ${res.statusCode} ${res.body}`);
      return res.json().data;
    };
    const syncOnce = async (name: string) => {
      const { id } = await call('/instances', { name, channel: 'slack' });
      await call(`/instances/${id}/connect`, { token: fake.token });
      const { jobId } = await call(`/instances/${id}/sync`, { type: 'messages', depth: 'all' });
      const job = await waitFor(
        `job ${jobId}`,
        async () => {
          const row = await services.jobs.getJob(jobId);
          return ['completed', 'failed', 'cancelled'].includes(row.status) ? row : null;
        },
        { timeoutMs: 240_000, everyMs: 50 },
      );
      const progress: SyncProgress = readProgress(job.progress);
      const until = Date.parse(progress.window?.until ?? '');
      const expected = fake.data.channels
        .flatMap((c) => fake.expectedIds(c, null, until).map((ts) => `${c.id}/${ts}`))
        .sort();
      const rows = await services.db.db
        .selectFrom('messages')
        .select(['chat_external_id', 'external_id'])
        .where('instance_id', '=', id)
        .execute();
      const stored = rows.map((r) => `${r.chat_external_id}/${r.external_id}`).sort();
      return { job, progress, diff: idSetDiff(stored, expected), expected: expected.length };
    };

    const clean = await syncOnce('clean');
    check(
      clean.job.status === 'completed' && clean.diff === null,
      `clean run: ${clean.job.status} ${clean.diff}`,
    );
    const cleanRequests =
      fake.stats.method('conversations.history') + fake.stats.method('conversations.replies');
    log(
      `clean run: ${clean.progress.stored} messages (${clean.expected} expected), ${cleanRequests} history/replies requests`,
    );

    const before429 = fake.stats.status429;
    const at = () => prng.int(1, Math.max(8, cleanRequests) - 1);
    const faults: FakeSlackFault[] = [
      { kind: '429', afterRequest: at(), count: 10, retryAfterSeconds: 1 },
      { kind: '429-no-retry-after', afterRequest: at(), count: 2 },
      { kind: '500', afterRequest: at(), count: 1 },
      { kind: '503', afterRequest: at(), count: 1 },
      { kind: 'error', afterRequest: at(), count: 1, error: 'internal_error' },
      { kind: 'slow', afterRequest: at(), count: 1, delayMs: 2500 },
      { kind: 'truncated', afterRequest: at(), count: 2 },
    ];
    for (const f of faults) fake.inject({ ...f, route: HISTORY });
    log(`faults: ${faults.map((f) => `${f.kind}×${f.count}@${f.afterRequest}`).join(' ')}`);

    const faulty = await syncOnce('faulty');
    const hits = fake.faults.hits;
    const injected429 = faults.reduce((n, f, i) => n + (f.kind.startsWith('429') ? (hits[i] ?? 0) : 0), 0);
    const problems: string[] = [];
    if (faulty.job.status !== 'completed')
      problems.push(`status ${faulty.job.status} (${faulty.job.error_message})`);
    if (faulty.diff) problems.push(faulty.diff);
    problems.push(...counterDiff(faulty.progress, clean.progress, MESSAGE_COUNTERS));
    const unhit = faults.filter((_, i) => (hits[i] ?? 0) < (faults[i]!.count ?? 1)).map((f) => f.kind);
    if (unhit.length > 0) problems.push(`faults not fully triggered: ${unhit.join(', ')}`);
    const sent429 = fake.stats.status429 - before429;
    if (sent429 !== injected429 + fake.stats.limit429)
      problems.push(`429s sent ${sent429} ≠ injected ${injected429} + limit ${fake.stats.limit429}`);
    if (faulty.progress.rateLimitWaits < sent429)
      problems.push(`rateLimitWaits ${faulty.progress.rateLimitWaits} < 429s ${sent429}`);
    log(
      `job ${faulty.job.status}: ${faulty.progress.stored} stored, ${faulty.progress.rateLimitWaits} waits (${faulty.progress.rateLimitWaitMs} ms), 429s ${sent429}, fault hits ${hits.join('/')}`,
    );
    check(problems.length === 0, problems.join(', '));
    return `${faults.length} fault kinds hit on the fake Slack, ${injected429} injected 429s → counted, exact set with threads and counters`;
  },
};
