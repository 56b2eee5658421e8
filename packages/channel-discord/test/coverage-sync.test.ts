import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { CredentialCipher, type SyncJobType } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  ExponentialCooldownPolicy,
  fixedRateSource,
  JobRepository,
  PluginRegistry,
  RateLimiter,
  readCoverage,
  readProgress,
  type SyncJobConfig,
  type SyncProgress,
  SyncRunner,
  type SyncRunnerOptions,
  uncoveredGaps,
} from '@omni/sync-core';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { createDiscordPlugin, type DiscordPluginOptions } from '../src/index.ts';

/** Paced against the fake (and Postgres): give slow CI machines room; nothing here asserts time. */
setDefaultTimeout(60_000);

const DAY = 86_400_000;
const PACING: Partial<DiscordPluginOptions> = {
  historyRequestsPerWindow: 5,
  historyWindowMs: 500,
  globalRequestsPerWindow: 50,
  globalWindowMs: 100,
};

let t: TestDb;
let cipher: CredentialCipher;
let jobs: JobRepository;
let fake: FakeDiscord;

beforeAll(async () => {
  t = await createTestDb('postgres');
  cipher = new CredentialCipher(randomBytes(32));
  jobs = new JobRepository(t.db);
  fake = await FakeDiscord.start({
    data: mixedScenario({ nowMs: Date.now() - 1000 }),
    messageRateLimit: { limit: 5, windowMs: 500 },
    globalRateLimit: { limit: 50, windowMs: 100 },
  });
}, 60_000);
afterAll(async () => {
  fake?.stop();
  await t?.close();
});

function runner(options: Partial<SyncRunnerOptions> = {}): SyncRunner {
  return new SyncRunner({
    db: t.db,
    plugins: new PluginRegistry([createDiscordPlugin({ api: fake.apiUrl, ...PACING })]),
    limiter: new RateLimiter({
      rates: fixedRateSource({ messages: 60_000, contacts: 60_000, profile: 60_000 }),
      cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
    }),
    cipher,
    chatConcurrency: 8,
    retryBaseMs: 50,
    ...options,
  });
}

async function newInstance(): Promise<string> {
  const id = randomUUID();
  const row = await t.db
    .insertInto('instances')
    .values({
      id,
      name: `discord-${randomUUID()}`,
      channel: 'discord',
      credentials: cipher.encryptJson({ token: fake.token }, id),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

interface Run {
  jobId: string;
  progress: SyncProgress;
  since: number | null;
  until: number;
  /** History pages the fake served during the run, per channel id. */
  pages: Map<string, number>;
  /** Readable chats of the job. */
  chats: string[];
}

async function sync(
  instance: string,
  config: SyncJobConfig,
  type: SyncJobType = 'messages',
  r: SyncRunner = runner(),
): Promise<Run> {
  const before = new Map(fake.stats.historyPages);
  const { job } = await jobs.createJob(instance, type, config);
  const result = await r.runJob(job.id, 'test-worker');
  expect({ status: result?.status, error: result?.error }).toEqual({ status: 'completed', error: undefined });
  return finished(job.id, before);
}

async function finished(jobId: string, before: Map<string, number>): Promise<Run> {
  const job = await jobs.getJob(jobId);
  const progress = readProgress(job.progress);
  const pages = new Map<string, number>();
  for (const [chat, n] of fake.stats.historyPages) {
    const delta = n - (before.get(chat) ?? 0);
    if (delta > 0) pages.set(chat, delta);
  }
  const rows = await t.db
    .selectFrom('sync_job_chats')
    .select('chat_id')
    .where('job_id', '=', jobId)
    .where('status', '!=', 'skipped')
    .execute();
  return {
    jobId,
    progress,
    since: progress.window?.since ? Date.parse(progress.window.since) : null,
    until: Date.parse(progress.window!.until),
    pages,
    chats: rows.map((c) => c.chat_id).sort(),
  };
}

async function storedIds(instance: string, chat: string): Promise<string[]> {
  const rows = await t.db
    .selectFrom('messages')
    .select('external_id')
    .where('instance_id', '=', instance)
    .where('chat_external_id', '=', chat)
    .execute();
  return rows.map((r) => r.external_id).sort();
}

const platformIds = (chat: string, since: number | null, until: number) =>
  fake.expectedIds(fake.data.chat(chat)!, since, until).sort();

/** Pages Discord's backwards paging needs for a gap holding `k` messages: ⌊k / 100⌋ + 1. */
const pagesFor = (k: number) => Math.floor(k / 100) + 1;

describe('incremental Discord sync through SyncRunner on Postgres', () => {
  test('a 30d after a 7d sync asks only for 7d..30d and the new tail; a re-run asks ≤ 1 page per chat; force re-fetches', async () => {
    const instance = await newInstance();
    // The 7d sync ran a day ago: its window ends a day before now.
    const dayAgo = Date.now() - DAY;
    const first = await sync(instance, {
      since: new Date(dayAgo - 7 * DAY).toISOString(),
      until: new Date(dayAgo).toISOString(),
    });
    expect(first.chats.length).toBeGreaterThan(5);
    const second = await sync(instance, { depth: '30d' });
    const expected = new Map<string, number>();
    for (const chat of first.chats) {
      const tail = platformIds(chat, first.until, second.until).length;
      const exhausted = platformIds(chat, null, first.since as number).length === 0;
      const older = exhausted ? 0 : pagesFor(platformIds(chat, second.since, first.since as number).length);
      expected.set(chat, pagesFor(tail) + older);
      expect(await storedIds(instance, chat)).toEqual(platformIds(chat, second.since, second.until));
    }
    expect(Object.fromEntries(second.pages)).toEqual(Object.fromEntries(expected));
    // Nothing of the 7d already stored was fetched again.
    expect(second.progress.duplicates).toBeLessThanOrEqual(2 * first.chats.length);

    const rerun = await sync(instance, { depth: '30d' });
    expect(rerun.chats).toEqual(first.chats);
    for (const chat of rerun.chats) expect(rerun.pages.get(chat) ?? 0).toBeLessThanOrEqual(1);
    expect(rerun.progress.stored).toBe(0);

    const forced = await sync(instance, { depth: '30d', force: true });
    let all = 0;
    for (const chat of forced.chats) all += platformIds(chat, forced.since, forced.until).length;
    expect(forced.progress.fetched).toBe(all);
    expect(forced.progress.stored).toBe(0);
  });

  test('a day of disconnection is filled exactly by a catchup job; the ledger shows no gap', async () => {
    const instance = await newInstance();
    const dayAgo = Date.now() - DAY;
    const first = await sync(instance, {
      since: new Date(dayAgo - 7 * DAY).toISOString(),
      until: new Date(dayAgo).toISOString(),
    });
    const catchup = await sync(instance, {}, 'catchup');
    expect(catchup.progress.window?.depth).toBe('catchup');
    const coverage = await readCoverage(t.db, instance);
    for (const chat of first.chats) {
      expect(await storedIds(instance, chat)).toEqual(platformIds(chat, first.since, catchup.until));
      expect(catchup.pages.get(chat)).toBe(pagesFor(platformIds(chat, first.until, catchup.until).length));
      expect(uncoveredGaps(coverage.get(chat) ?? [], first.since, catchup.until)).toEqual([]);
    }
  });

  test('a crash mid-catchup resumes from its checkpoints: exact set, nothing asked twice beyond one page per chat', async () => {
    const instance = await newInstance();
    const weekAgo = Date.now() - 7 * DAY;
    const first = await sync(instance, {
      since: new Date(weekAgo - 7 * DAY).toISOString(),
      until: new Date(weekAgo).toISOString(),
    });
    const before = new Map(fake.stats.historyPages);
    const { job } = await jobs.createJob(instance, 'catchup', {});
    const crashing = runner({
      onBatchCommitted: (b) => {
        if (b.batch === 4) throw new Error('process crashed');
      },
    });
    const crashed = await crashing.runJob(job.id, 'w1');
    expect(crashed?.status).toBe('failed');
    const partial = readProgress(crashed?.job?.progress).stored;
    expect(partial).toBeGreaterThan(0);
    await jobs.resumeJob(job.id);
    const resumed = await runner().runJob(job.id, 'w2');
    expect(resumed?.status).toBe('completed');
    const done = await finished(job.id, before);
    let needed = 0;
    for (const chat of first.chats) {
      const gap = platformIds(chat, first.until, done.until).length;
      needed += pagesFor(gap);
      expect(await storedIds(instance, chat)).toEqual(platformIds(chat, first.since, done.until));
    }
    expect(done.progress.stored).toBe(
      first.chats.reduce((n, chat) => n + platformIds(chat, first.until, done.until).length, 0),
    );
    let asked = 0;
    for (const n of done.pages.values()) asked += n;
    expect(asked).toBeLessThanOrEqual(needed + first.chats.length);
  });
});
