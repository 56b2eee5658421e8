import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialCipher, SettingsService, type SyncDepth } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  ExponentialCooldownPolicy,
  fixedRateSource,
  JobRepository,
  MediaFetcher,
  MediaStorageService,
  PluginRegistry,
  RateLimiter,
  readProgress,
  type SyncProgress,
  SyncRunner,
  type SyncRunnerOptions,
  settingsRateSource,
} from '@omni/sync-core';
import { FakeDiscord, type FakeDiscordOptions, mixedScenario } from '@omni/testkit/discord';
import { createDiscordPlugin, type DiscordPluginOptions } from '../src/index.ts';

/** Paced against the fake (and Postgres): give slow CI machines room; nothing here asserts time. */
setDefaultTimeout(60_000);

/** Discord's shapes scaled down 10× (5 per 500 ms per channel, 50 per 100 ms globally). */
const WINDOW = { limit: 5, windowMs: 500 };
const GLOBAL = { limit: 50, windowMs: 100 };
const PACING: Partial<DiscordPluginOptions> = {
  historyRequestsPerWindow: 5,
  historyWindowMs: 500,
  globalRequestsPerWindow: 50,
  globalWindowMs: 100,
  cloudflareProbeMs: 300,
};

let t: TestDb;
let cipher: CredentialCipher;
let jobs: JobRepository;
let mediaDir: string;

beforeAll(async () => {
  t = await createTestDb('postgres');
  cipher = new CredentialCipher(randomBytes(32));
  jobs = new JobRepository(t.db);
  mediaDir = mkdtempSync(join(tmpdir(), 'omni-discord-media-'));
}, 60_000);
afterAll(async () => {
  await t?.close();
  rmSync(mediaDir, { recursive: true, force: true });
});

async function newInstance(token: string, downloadMedia = false): Promise<string> {
  const id = randomUUID();
  const row = await t.db
    .insertInto('instances')
    .values({
      id,
      name: `discord-${randomUUID()}`,
      channel: 'discord',
      credentials: cipher.encryptJson({ token }, id),
      download_media_on_sync: downloadMedia,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

interface World {
  fake: FakeDiscord;
  runner: SyncRunner;
  limiter: RateLimiter;
}

async function world(
  fakeOptions: Partial<FakeDiscordOptions> = {},
  runnerOptions: Partial<SyncRunnerOptions> = {},
  pluginOptions: Partial<DiscordPluginOptions> = {},
): Promise<World> {
  const fake = await FakeDiscord.start({
    data: mixedScenario({ nowMs: Date.now() - 1000 }),
    messageRateLimit: WINDOW,
    globalRateLimit: GLOBAL,
    ...fakeOptions,
  });
  const plugin = createDiscordPlugin({ api: fake.apiUrl, ...PACING, ...pluginOptions });
  const limiter = new RateLimiter({
    rates: fixedRateSource({ messages: 60_000, contacts: 60_000, profile: 60_000 }),
    cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
  });
  const runner = new SyncRunner({
    db: t.db,
    plugins: new PluginRegistry([plugin]),
    limiter,
    cipher,
    chatConcurrency: 8,
    retryBaseMs: 50,
    // Attachments are served by the fake on 127.0.0.1: allowed as `MEDIA_ALLOW_ORIGINS` would.
    mediaFetcher: new MediaFetcher({ allowOrigins: [fake.url] }),
    ...runnerOptions,
  });
  return { fake, runner, limiter };
}

async function runSync(w: Pick<World, 'runner'>, instance: string, depth: SyncDepth): Promise<SyncProgress> {
  const { job } = await jobs.createJob(instance, 'messages', { depth });
  const result = await w.runner.runJob(job.id, 'test-worker');
  expect({ status: result?.status, error: result?.error }).toEqual({ status: 'completed', error: undefined });
  return readProgress(result?.job?.progress);
}

/** Every message the fake has in the job's window, per readable chat. */
function expectedIds(fake: FakeDiscord, progress: SyncProgress): string[] {
  const since = progress.window?.since ? Date.parse(progress.window.since) : null;
  const until = Date.parse(progress.window!.until);
  return fake.data.chats
    .filter((c) => c.readable)
    .flatMap((c) => fake.expectedIds(c, since, until))
    .sort();
}

async function storedIds(instance: string): Promise<string[]> {
  const rows = await t.db
    .selectFrom('messages')
    .select('external_id')
    .where('instance_id', '=', instance)
    .execute();
  return rows.map((r) => r.external_id).sort();
}

describe('Discord through SyncRunner on Postgres', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.fake.stop());

  for (const depth of ['7d', '30d', 'all'] as const) {
    test(`${depth}: exactly the expected set is stored, a rerun stores 0, no 429`, async () => {
      const instance = await newInstance(w.fake.token);
      const before429 = w.fake.stats.status429;
      const first = await runSync(w, instance, depth);
      const expected = expectedIds(w.fake, first);
      expect(expected.length).toBeGreaterThan(0);
      expect(await storedIds(instance)).toEqual(expected);
      expect(first.stored).toBe(expected.length);
      expect(first.duplicates).toBe(0);
      expect(first.skippedChats).toEqual([
        expect.objectContaining({ name: 'staff-only', reason: 'missing VIEW_CHANNEL permission' }),
      ]);
      const rerun = await runSync(w, instance, depth);
      expect(rerun.stored).toBe(0);
      expect(await storedIds(instance)).toEqual(expected);
      expect(w.fake.stats.status429 - before429).toBe(0);
      // Waits on Discord's windows are counted now (the budget reports them); refusals are not.
      expect(w.limiter.stats(instance).rateLimited).toBe(0);
      const since = first.window?.since ? Date.parse(first.window.since) : null;
      const startsAfterSince = w.fake.data.chats
        .filter(
          (c) =>
            c.readable &&
            c.kind !== 'forum' &&
            since !== null &&
            (c.messageCount === 0 || c.firstMs >= since),
        )
        .map((c) => c.name);
      expect((first.exhaustedChats ?? []).map((c) => c.name).sort()).toEqual(startsAfterSince.sort());
      if (depth === '7d') expect(startsAfterSince.sort()).toEqual(['empty', 'fresh', 'release-thread']);
    }, 60_000);
  }

  test('voice message metadata and replies survive into the messages table', async () => {
    const instance = await newInstance(w.fake.token);
    await runSync(w, instance, '30d');
    const voice = await t.db
      .selectFrom('messages')
      .select(['kind', 'media_mime_type', 'media_metadata', 'has_media', 'raw'])
      .where('instance_id', '=', instance)
      .where('kind', '=', 'voice')
      .execute();
    expect(voice.length).toBeGreaterThan(3);
    for (const v of voice) {
      expect(v.has_media).toBe(true);
      expect(v.media_mime_type).toBe('audio/ogg');
      const meta = v.media_metadata as { durationSeconds: number; waveform: string; isVoiceNote: boolean };
      expect(meta.isVoiceNote).toBe(true);
      expect(meta.durationSeconds).toBeGreaterThan(0);
      const att = (v.raw as { attachments: { duration_secs: number; waveform: string }[] }).attachments[0]!;
      expect(meta.durationSeconds).toBe(att.duration_secs);
      expect(meta.waveform).toBe(att.waveform);
    }
    const replies = await t.db
      .selectFrom('messages')
      .select(['reply_to_external_id'])
      .where('instance_id', '=', instance)
      .where('reply_to_external_id', 'is not', null)
      .execute();
    expect(replies.length).toBeGreaterThan(5);
  }, 60_000);
});

describe('faults through the engine', () => {
  test('injected JSON and HTML 429s: counted, cooled down, no page lost', async () => {
    const w = await world({ data: mixedScenario({ nowMs: Date.now() - 1000 }) });
    try {
      w.fake.inject({
        kind: '429-json',
        afterRequest: 4,
        count: 2,
        route: /\/messages$/,
        retryAfterSeconds: 0.1,
      });
      w.fake.inject({
        kind: '429-bare-json',
        afterRequest: 9,
        count: 1,
        route: /\/messages$/,
        retryAfterSeconds: 0.1,
      });
      w.fake.inject({ kind: '429-html', afterRequest: 14, count: 2, route: /\/messages$/ });
      const instance = await newInstance(w.fake.token);
      const progress = await runSync(w, instance, 'all');
      expect(await storedIds(instance)).toEqual(expectedIds(w.fake, progress));
      expect(w.fake.stats.status429).toBe(5);
      expect(w.fake.stats.limit429).toBe(0);
      expect(progress.rateLimitWaits).toBeGreaterThanOrEqual(5);
      expect(progress.failed).toBe(0);
    } finally {
      await w.fake.stop();
    }
  }, 60_000);

  test('expired attachment URLs are refreshed and the media stored', async () => {
    const media = new MediaStorageService(t.db, { basePath: mediaDir, fsync: false });
    let fake: FakeDiscord | null = null;
    let expired = false;
    const w = await world(
      {
        data: {
          nowMs: Date.now() - 1000,
          mix: { image: 0.2, voice: 0.1, pdf: 0.1 },
          maxAttachmentBytes: 4096,
          guilds: [{ name: 'media', channels: [{ name: 'pics', messageCount: 120, historyDays: 5 }] }],
        },
        routeRateLimit: { limit: 100, windowMs: 100 },
      },
      {
        media,
        // Every URL handed out with the first page expires as soon as that page is stored.
        onBatchCommitted: () => {
          if (!expired) fake?.expireAttachmentUrls();
          expired = true;
        },
      },
    );
    fake = w.fake;
    try {
      const instance = await newInstance(w.fake.token, true);
      const progress = await runSync(w, instance, '7d');
      const rows = await t.db
        .selectFrom('messages')
        .select(['media_local_path', 'media_mime_type'])
        .where('instance_id', '=', instance)
        .where('has_media', '=', true)
        .execute();
      expect(rows.length).toBeGreaterThan(20);
      expect(w.fake.stats.cdnExpired).toBeGreaterThan(0);
      expect(w.fake.stats.refreshCalls).toBeGreaterThan(0);
      const stored = rows.filter((r) => r.media_local_path !== null);
      expect(progress.mediaDownloaded).toBe(stored.length);
      expect(progress.mediaFailed).toBe(0);
      expect(progress.mediaSkipped).toBe(0);
      expect(stored.length).toBe(rows.length);
      expect(w.fake.stats.refreshCalls).toBe(w.fake.stats.cdnExpired);
      for (const r of stored) {
        const path = r.media_local_path!.startsWith('/')
          ? r.media_local_path!
          : join(mediaDir, r.media_local_path!);
        expect(existsSync(path)).toBe(true);
        expect(statSync(path).size).toBeGreaterThan(0);
      }
    } finally {
      await w.fake.stop();
    }
  }, 60_000);
});

describe('media counted once per job across runs', () => {
  test('media that failed in one run and was stored by the next run of the job counts once, as stored', async () => {
    const media = new MediaStorageService(t.db, { basePath: mediaDir, fsync: false });
    let fake: FakeDiscord | null = null;
    // Run 1: every URL handed out with the first page expires once that page is stored, and the
    // refresh finds nothing, so its media fails. Run 2 (the resume): refreshes are answered again.
    let refuseRefresh = true;
    let expired = false;
    const w = await world(
      {
        data: {
          nowMs: Date.now() - 1000,
          mix: { image: 0.3 },
          maxAttachmentBytes: 4096,
          guilds: [{ name: 'media', channels: [{ name: 'pics', messageCount: 250, historyDays: 5 }] }],
        },
        routeRateLimit: { limit: 100, windowMs: 100 },
        refreshRewrite: (original) =>
          refuseRefresh || !fake ? null : fake.signAttachment(new URL(original).pathname),
      },
      {
        media,
        onBatchCommitted: () => {
          if (!expired) fake?.expireAttachmentUrls();
          expired = true;
        },
      },
    );
    fake = w.fake;
    try {
      // The second history page hangs, so run 1 is still going when its media failures are counted.
      w.fake.inject({ kind: 'slow', route: /\/messages/, afterRequest: 1, count: 1, delayMs: 20_000 });
      const instance = await newInstance(w.fake.token, true);
      const { job } = await jobs.createJob(instance, 'messages', { depth: '7d' });
      const shutdown = new AbortController();
      const first = w.runner.runJob(job.id, 'worker-1', { signal: shutdown.signal });
      for (let i = 0; i < 400; i++) {
        if (readProgress((await jobs.getJob(job.id)).progress).mediaFailed > 0) break;
        await Bun.sleep(25);
      }
      const failedInFirst = readProgress((await jobs.getJob(job.id)).progress).mediaFailed;
      shutdown.abort();
      expect((await first)?.status).toBe('released');
      expect(failedInFirst).toBeGreaterThan(0);

      refuseRefresh = false;
      const second = await w.runner.runJob(job.id, 'worker-2');
      expect(second?.status).toBe('completed');
      const progress = readProgress(second?.job?.progress);
      const rows = await t.db
        .selectFrom('messages')
        .select('media_local_path')
        .where('instance_id', '=', instance)
        .where('has_media', '=', true)
        .execute();
      expect(rows.length).toBeGreaterThan(20);
      expect(rows.filter((r) => r.media_local_path === null)).toEqual([]);
      expect({
        mediaDownloaded: progress.mediaDownloaded,
        mediaFailed: progress.mediaFailed,
        mediaSkipped: progress.mediaSkipped,
        mediaFailReasons: progress.mediaFailReasons ?? {},
      }).toEqual({ mediaDownloaded: rows.length, mediaFailed: 0, mediaSkipped: 0, mediaFailReasons: {} });
    } finally {
      await w.fake.stop();
    }
  }, 60_000);
});

describe('contacts and groups through the engine', () => {
  test('members as contacts and guilds + channels as groups: exact counts, a refresh updates, never duplicates', async () => {
    const w = await world({ routeRateLimit: { limit: 100, windowMs: 100 } });
    try {
      const instance = await newInstance(w.fake.token);
      const count = async (table: 'contacts' | 'omni_groups') =>
        Number(
          (
            await t.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<string>().as('n'))
              .where('instance_id', '=', instance)
              .executeTakeFirstOrThrow()
          ).n,
        );
      const members = w.fake.data.guilds.reduce((n, g) => n + g.memberCount, 0) + 1;
      const groups = w.fake.data.guilds.length + w.fake.data.chats.filter((c) => !c.isThread).length;
      for (let run = 0; run < 2; run++) {
        const { job } = await jobs.createJob(instance, 'all', { depth: '7d' });
        const result = await w.runner.runJob(job.id, 'test-worker');
        expect(result?.status).toBe('completed');
        const progress = readProgress(result?.job?.progress);
        expect(progress.parts).toMatchObject({
          profile: 'done',
          messages: 'done',
          contacts: 'done',
          groups: 'done',
        });
        expect(await count('contacts')).toBe(members);
        expect(await count('omni_groups')).toBe(groups);
        if (run === 1) expect(progress.stored).toBe(0);
      }
      const hq = await t.db
        .selectFrom('omni_groups')
        .selectAll()
        .where('instance_id', '=', instance)
        .where('name', '=', 'Omni HQ')
        .executeTakeFirstOrThrow();
      expect(hq).toMatchObject({ description: 'Where the sync is tested', member_count: 1501 });
      const profile = await t.db
        .selectFrom('instances')
        .selectAll()
        .where('id', '=', instance)
        .executeTakeFirstOrThrow();
      expect(profile.profile_bio).toBe('Omni history sync bot');
      expect(profile.profile_metadata).toMatchObject({
        botId: w.fake.data.botId,
        guildCount: 2,
        isBot: true,
      });
    } finally {
      await w.fake.stop();
    }
  }, 60_000);

  test('Server Members intent refused: the job says so and the other parts still run', async () => {
    const w = await world({ membersIntent: false });
    try {
      const instance = await newInstance(w.fake.token);
      // A member stored by an earlier refresh: a refused listing must not mark it as gone.
      await t.db
        .insertInto('contacts')
        .values({ instance_id: instance, external_id: 'earlier-member' })
        .execute();
      const { job } = await jobs.createJob(instance, 'all', { depth: '7d' });
      const result = await w.runner.runJob(job.id, 'test-worker');
      expect(result?.status).toBe('completed');
      const progress = readProgress(result?.job?.progress);
      expect(progress.parts).toMatchObject({ messages: 'done', contacts: 'done', groups: 'done' });
      expect(progress.warnings.filter((x) => x.includes('Server Members privileged intent')).length).toBe(2);
      expect(progress.stored).toBeGreaterThan(0);
      expect(((result?.job?.progress ?? {}) as { contacts?: unknown }).contacts).toMatchObject({
        complete: false,
        markedAbsent: 0,
      });
      const earlier = await t.db
        .selectFrom('contacts')
        .select('is_present')
        .where('instance_id', '=', instance)
        .where('external_id', '=', 'earlier-member')
        .executeTakeFirstOrThrow();
      expect(earlier.is_present).toBe(true);
    } finally {
      await w.fake.stop();
    }
  }, 60_000);
});

describe('default settings', () => {
  test("Discord's real limits on the fake, the engine at sync.discord.messagesPerMinute: no 429", async () => {
    const settings = new SettingsService(t.db);
    const fake = await FakeDiscord.start({
      data: {
        nowMs: Date.now() - 1000,
        guilds: [
          {
            name: 'small',
            channels: [
              { name: 'a', messageCount: 150, historyDays: 20 },
              { name: 'b', messageCount: 40 },
            ],
          },
        ],
      },
    });
    try {
      const plugin = createDiscordPlugin({ api: fake.apiUrl });
      const runner = new SyncRunner({
        db: t.db,
        plugins: new PluginRegistry([plugin]),
        limiter: new RateLimiter({ rates: settingsRateSource(settings) }),
        settings,
        cipher,
      });
      const instance = await newInstance(fake.token);
      const progress = await runSync({ runner }, instance, 'all');
      expect(await storedIds(instance)).toEqual(expectedIds(fake, progress));
      expect(fake.stats.status429).toBe(0);
    } finally {
      await fake.stop();
    }
  }, 60_000);
});
