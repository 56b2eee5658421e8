import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  type ChatInfo,
  chatId,
  DedupeWriter,
  fixedRateSource,
  HistoryIngestor,
  instanceId,
  JobRepository,
  MediaFetcher,
  MediaStorageService,
  PluginRegistry,
  RateLimiter,
  readProgress,
  SyncRunner,
} from '@omni/sync-core';
import {
  createFakeSocketFactory,
  FakeMediaServer,
  type FakeWhatsAppScenario,
  generateTextHistory,
  waMessages,
} from '@omni/testkit/whatsapp';
import { MemoryAuthStateStore } from '../src/auth/auth-state-store.ts';
import { createWhatsAppPlugin } from '../src/whatsapp-plugin.ts';

const DAY = 86_400;
const NOW = Math.floor(Date.now() / 1000) - 60;
const ME = { id: '15559990000@s.whatsapp.net', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const BOB_PN = '15550002222@s.whatsapp.net';
const BOB_LID = '222000@lid';
const CAROL = '15550003333@s.whatsapp.net';

describe('a messages job through SyncRunner on Postgres', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('postgres');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  const count = async (instance: string, chat: string) =>
    Number(
      (
        await t.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('instance_id', '=', instance)
          .where('chat_external_id', '=', chat)
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('depth 30d: pushed history + paging stored exactly; a short chat is exhausted; a restart keeps the chats', async () => {
    const row = await t.db
      .insertInto('instances')
      .values({ name: 'wa-runner', channel: 'whatsapp-baileys' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = instanceId(row.id);
    const alice = generateTextHistory({
      chat: ALICE,
      count: 500,
      newest: NOW,
      spacing: 7_200,
      idPrefix: 'A',
    });
    const bob = generateTextHistory({ chat: BOB_LID, count: 30, newest: NOW, spacing: 600, idPrefix: 'B' });
    const carol = generateTextHistory({ chat: CAROL, count: 80, newest: NOW, spacing: 3_600, idPrefix: 'C' });
    const scenario: FakeWhatsAppScenario = {
      me: ME,
      chats: [
        { jid: ALICE, name: 'Alice', messages: alice },
        { jid: BOB_LID, altJid: BOB_PN, name: 'Bob', messages: bob },
        { jid: CAROL, name: 'Carol', messages: carol },
      ],
      bootstrapSince: NOW - 2 * DAY,
    };
    const storedChats = async (instance: string): Promise<ChatInfo[]> =>
      (
        await t.db
          .selectFrom('chats')
          .select(['external_id', 'alt_external_id', 'name', 'kind'])
          .where('instance_id', '=', instance)
          .execute()
      ).map((c) => ({
        id: chatId(c.external_id),
        altId: c.alt_external_id,
        name: c.name,
        kind: c.kind ?? 'dm',
        readable: true,
      }));
    const makePlugin = () =>
      createWhatsAppPlugin({
        socketFactory: createFakeSocketFactory(scenario).factory,
        authStore: new MemoryAuthStateStore(),
        storedChats,
        onDemandTimeoutMs: 2_000,
      });
    const first = makePlugin();
    const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
    first.setHistoryHandler(async (chunk) => {
      await ingestor.ingest(chunk);
    });
    await first.connect(id);
    await first.flush(id);
    await first.close();

    // A new process: nothing in memory, no new push; the chats come from the database.
    const plugin = makePlugin();
    plugin.setHistoryHandler(async (chunk) => {
      await ingestor.ingest(chunk);
    });
    const jobs = new JobRepository(t.db);
    const { job } = await jobs.createJob(id, 'messages', { depth: '30d' });
    const runner = new SyncRunner({
      db: t.db,
      plugins: new PluginRegistry([plugin]),
      limiter: new RateLimiter({ rates: fixedRateSource({}) }),
    });
    const result = await runner.runJob(job.id, 'w1');
    expect(result?.status).toBe('completed');
    const progress = readProgress(result?.job?.progress);
    const since = Date.parse(progress.window?.since ?? '');
    expect(Date.parse(progress.window?.until ?? '') - since).toBe(30 * DAY * 1000);
    const inRange = (list: typeof alice) =>
      list.filter((m) => Number(m.messageTimestamp) * 1000 >= since).length;
    expect(await count(id, ALICE)).toBe(inRange(alice));
    expect(await count(id, BOB_PN)).toBe(30);
    expect(await count(id, BOB_LID)).toBe(0);
    expect(await count(id, CAROL)).toBe(80);
    expect(progress.exhaustedChats?.map((c) => c.chatId).sort()).toEqual([BOB_PN, CAROL].sort());
    const chatStates = await t.db
      .selectFrom('sync_job_chats')
      .select(['chat_id', 'status'])
      .where('job_id', '=', job.id)
      .orderBy('chat_id')
      .execute();
    expect(chatStates).toEqual([
      { chat_id: ALICE, status: 'done' },
      { chat_id: BOB_PN, status: 'exhausted' },
      { chat_id: CAROL, status: 'exhausted' },
    ]);
    await plugin.close();
  });

  test('media of paged messages is downloaded, decrypted, re-uploaded once when expired, stored on disk', async () => {
    const server = new FakeMediaServer();
    const dir = mkdtempSync(join(tmpdir(), 'omni-wa-media-'));
    try {
      const png = (seed: number) =>
        Buffer.concat([
          Buffer.from(
            'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
            'base64',
          ),
          Buffer.alloc(1000 + seed, seed),
        ]);
      const plains = [png(1), png(2), png(3)];
      const published = await Promise.all(plains.map((p) => server.publish(p, 'image', 'image/png')));
      const DAVE = '15550006666@s.whatsapp.net';
      const images = published.map((m, i) =>
        waMessages.image({ id: `IMG${i}`, chat: DAVE, timestamp: NOW - (5 - i) * DAY }, m, `photo ${i}`),
      );
      const recent = generateTextHistory({ chat: DAVE, count: 3, newest: NOW, spacing: 60, idPrefix: 'D' });
      const [ok, expired, lost] = published;
      if (!ok || !expired || !lost) throw new Error('publish failed');
      server.expire(expired.url, 410);
      server.expire(lost.url, 404, { reuploadable: false });
      const row = await t.db
        .insertInto('instances')
        .values({ name: 'wa-media', channel: 'whatsapp-baileys', download_media_on_sync: true })
        .returning('id')
        .executeTakeFirstOrThrow();
      const id = instanceId(row.id);
      const fake = createFakeSocketFactory({
        me: ME,
        media: server,
        chats: [{ jid: DAVE, name: 'Dave', messages: [...images, ...recent] }],
        bootstrapSince: NOW - DAY,
      });
      const plugin = createWhatsAppPlugin({
        socketFactory: fake.factory,
        authStore: new MemoryAuthStateStore(),
      });
      const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
      plugin.setHistoryHandler(async (chunk) => {
        await ingestor.ingest(chunk);
      });
      await plugin.connect(id);
      await plugin.flush(id);
      const { job } = await new JobRepository(t.db).createJob(id, 'messages', {
        depth: '30d',
        downloadMedia: true,
      });
      const runner = new SyncRunner({
        db: t.db,
        plugins: new PluginRegistry([plugin]),
        limiter: new RateLimiter({ rates: fixedRateSource({}) }),
        media: new MediaStorageService(t.db, { basePath: dir, allowedMimeTypes: ['image/*'], fsync: false }),
        // The fake media server is on 127.0.0.1: passed as `MEDIA_ALLOW_ORIGINS` would pass it.
        mediaFetcher: new MediaFetcher({ allowOrigins: [server.origin] }),
      });
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      expect(readProgress(result?.job?.progress)).toMatchObject({ mediaDownloaded: 2, mediaFailed: 1 });
      const rows = await t.db
        .selectFrom('messages')
        .select(['external_id', 'media_local_path', 'media_sha256'])
        .where('instance_id', '=', id)
        .where('has_media', '=', true)
        .orderBy('external_id')
        .execute();
      expect(rows.map((r) => r.external_id)).toEqual(['IMG0', 'IMG1', 'IMG2']);
      for (const [i, r] of rows.slice(0, 2).entries()) {
        expect(r.media_local_path).not.toBeNull();
        const bytes = readFileSync(join(dir, r.media_local_path ?? ''));
        expect(Buffer.compare(bytes, plains[i] ?? Buffer.alloc(0))).toBe(0);
      }
      expect(rows[2]?.media_local_path).toBeNull();
      expect(fake.last?.reuploadRequests.sort()).toEqual(['IMG1', 'IMG2']);
      await plugin.close();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("type 'all': profile, contacts, groups with participants and messages in one job; a refresh updates", async () => {
    const row = await t.db
      .insertInto('instances')
      .values({ name: 'wa-all', channel: 'whatsapp-baileys' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = instanceId(row.id);
    const GROUP = '120363000000000042@g.us';
    const participants = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: `${7000 + i}@lid`,
        admin: i === 0 ? ('superadmin' as const) : null,
      }));
    const scenario: FakeWhatsAppScenario = {
      me: { ...ME, name: 'Shop' },
      chats: [
        {
          jid: ALICE,
          name: 'Alice',
          messages: generateTextHistory({ chat: ALICE, count: 5, newest: NOW, spacing: 60 }),
        },
      ],
      pushNames: [{ id: BOB_PN, pushname: 'Bobby' }],
      profile: { pictureUrl: 'https://pps.whatsapp.net/me.jpg', status: 'hello' },
      groups: [
        {
          id: GROUP,
          subject: 'Team',
          owner: '7000@lid',
          creation: 1_700_000_000,
          participants: participants(4),
        },
      ],
    };
    const plugin = createWhatsAppPlugin({
      socketFactory: createFakeSocketFactory(scenario).factory,
      authStore: new MemoryAuthStateStore(),
    });
    const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
    plugin.setHistoryHandler(async (chunk) => {
      await ingestor.ingest(chunk);
    });
    await plugin.connect(id);
    await plugin.flush(id);
    const jobs = new JobRepository(t.db);
    const runner = new SyncRunner({
      db: t.db,
      plugins: new PluginRegistry([plugin]),
      limiter: new RateLimiter({ rates: fixedRateSource({}) }),
    });
    const first = await runner.runJob((await jobs.createJob(id, 'all', { depth: '7d' })).job.id, 'w1');
    expect(first?.status).toBe('completed');
    const instance = await t.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(instance).toMatchObject({
      profile_name: 'Shop',
      profile_pic_url: 'https://pps.whatsapp.net/me.jpg',
      profile_bio: 'hello',
      owner_identifier: '+15559990000',
    });
    expect(instance.profile_metadata).toMatchObject({ phoneNumber: '+15559990000', isBusiness: false });
    const contacts = await t.db
      .selectFrom('contacts')
      .select(['external_id', 'push_name'])
      .where('instance_id', '=', id)
      .execute();
    expect(contacts).toContainEqual({ external_id: BOB_PN, push_name: 'Bobby' });
    const members = async () =>
      (
        await t.db
          .selectFrom('group_participants')
          .select(['participant_id', 'role'])
          .where('instance_id', '=', id)
          .where('is_present', '=', true)
          .orderBy('participant_id')
          .execute()
      ).map((p) => `${p.participant_id}:${p.role}`);
    expect(await members()).toEqual([
      '7000@lid:superadmin',
      '7001@lid:member',
      '7002@lid:member',
      '7003@lid:member',
    ]);
    const group = scenario.groups?.[0];
    if (group) group.participants = participants(2);
    const refresh = await runner.runJob((await jobs.createJob(id, 'groups', {})).job.id, 'w1');
    expect(refresh?.status).toBe('completed');
    expect(await members()).toEqual(['7000@lid:superadmin', '7001@lid:member']);
    const groups = await t.db
      .selectFrom('omni_groups')
      .select(['external_id', 'name', 'member_count'])
      .where('instance_id', '=', id)
      .execute();
    expect(groups).toEqual([{ external_id: GROUP, name: 'Team', member_count: 2 }]);
    await plugin.close();
  });
});
