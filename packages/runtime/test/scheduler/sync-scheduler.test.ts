import { afterAll, beforeAll, expect, test } from 'bun:test';
import { CredentialCipher, SettingsService } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { type ChannelPlugin, JobRepository, PluginRegistry } from '@omni/sync-core';
import { ProfileSyncService } from '../../src/profile/profile-sync-service.ts';
import { InProcessQueue } from '../../src/queue/in-process/in-process-queue.ts';
import { SyncScheduler } from '../../src/scheduler/sync-scheduler.ts';
import { silentLog, until } from '../helpers.ts';

let db: TestDb;
const cipher = new CredentialCipher(Buffer.alloc(32, 3));
const plugin: ChannelPlugin = {
  id: 'discord',
  capabilities: {
    parts: ['profile', 'messages', 'groups'],
    onDemandHistory: true,
    mediaNeedsDecryption: false,
    defaultRateLimits: { messagesPerMinute: 50, contactsPerMinute: 100 },
  },
  getProfile: async (ctx) => ({
    name: `bot-${ctx.instance.name}`,
    avatarUrl: null,
    bio: null,
    ownerIdentifier: '1',
    platformMetadata: {},
  }),
  listChats: async () => ({ chats: [], warnings: [] }),
  fetchHistory: async function* () {},
};

beforeAll(async () => {
  db = await createTestDb('postgres');
}, 60_000);
afterAll(async () => {
  await db.close();
}, 60_000);

test('queues profile / contacts+groups jobs for connected instances, follows settings, refreshes stale profiles', async () => {
  const ids = { fresh: crypto.randomUUID(), stale: crypto.randomUUID() };
  const [fresh, stale, off] = await db.db
    .insertInto('instances')
    .values([
      {
        id: ids.fresh,
        name: 'fresh',
        channel: 'discord',
        credentials: cipher.encryptJson({ token: 't' }, ids.fresh),
        profile_synced_at: new Date(),
      },
      {
        id: ids.stale,
        name: 'stale',
        channel: 'discord',
        credentials: cipher.encryptJson({ token: 't' }, ids.stale),
        profile_synced_at: new Date(Date.now() - 2 * 86_400_000),
      },
      { name: 'off', channel: 'discord' },
    ])
    .returning(['id', 'name'])
    .execute();
  const settings = new SettingsService(db.db, { env: {}, cacheTtlMs: 0 });
  const jobs = new JobRepository(db.db);
  const queue = new InProcessQueue();
  const plugins = new PluginRegistry([plugin]);
  const scheduler = new SyncScheduler({
    db: db.db,
    settings,
    jobs,
    queue,
    plugins,
    profiles: new ProfileSyncService(db.db, cipher, plugins, silentLog),
    log: silentLog,
  });
  await scheduler.start();
  expect(scheduler.patterns).toEqual({ profile: '0 4 * * *', contacts: '0 3 * * *' });

  const staleRow = await until(async () => {
    const row = await db.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', stale?.id as string)
      .executeTakeFirstOrThrow();
    return row.profile_name ? row : null;
  });
  expect(staleRow.profile_name).toBe('bot-stale');
  const freshRow = await db.db
    .selectFrom('instances')
    .selectAll()
    .where('id', '=', fresh?.id as string)
    .executeTakeFirstOrThrow();
  expect(freshRow.profile_name).toBeNull();

  const profileJobs = await scheduler.runProfileRefresh();
  expect(profileJobs).toHaveLength(2);
  const directory = await scheduler.runContactsRefresh();
  const types = await db.db
    .selectFrom('sync_jobs')
    .select(['instance_id', 'type'])
    .where('id', 'in', directory)
    .execute();
  expect(types.map((t) => t.type).sort()).toEqual(['groups', 'groups']);
  expect(types.some((t) => t.instance_id === off?.id)).toBe(false);
  expect(queue.size).toBe(4);

  await settings.update({
    'sync.contacts.scheduleEnabled': false,
    'sync.profile.scheduleCron': '*/5 * * * *',
  });
  await scheduler.applySettings();
  expect(scheduler.patterns).toEqual({ profile: '*/5 * * * *', contacts: null });
  scheduler.stop();
  await queue.close();
});

test('at start, a catchup job is queued for every connected instance with synced history (sync.catchup.enabled)', async () => {
  const ids = [crypto.randomUUID(), crypto.randomUUID()] as const;
  const [covered, uncovered, offline] = await db.db
    .insertInto('instances')
    .values([
      {
        id: ids[0],
        name: 'covered',
        channel: 'discord',
        credentials: cipher.encryptJson({ token: 't' }, ids[0]),
        profile_synced_at: new Date(),
      },
      {
        id: ids[1],
        name: 'never-synced',
        channel: 'discord',
        credentials: cipher.encryptJson({ token: 't' }, ids[1]),
        profile_synced_at: new Date(),
      },
      { name: 'offline', channel: 'discord', profile_synced_at: new Date() },
    ])
    .returning(['id'])
    .execute();
  const span = {
    from_at: new Date(Date.now() - 86_400_000),
    to_at: new Date(),
    from_reason: 'depth',
    to_reason: 'depth',
  } as const;
  await db.db
    .insertInto('chat_coverage')
    .values([
      { instance_id: covered!.id, chat_id: 'c1', ...span },
      { instance_id: offline!.id, chat_id: 'c1', ...span },
    ])
    .execute();
  const settings = new SettingsService(db.db, { env: {}, cacheTtlMs: 0 });
  const plugins = new PluginRegistry([plugin]);
  const make = (queue: InProcessQueue) =>
    new SyncScheduler({
      db: db.db,
      settings,
      jobs: new JobRepository(db.db),
      queue,
      plugins,
      profiles: new ProfileSyncService(db.db, cipher, plugins, silentLog),
      log: silentLog,
    });
  const catchups = () =>
    db.db.selectFrom('sync_jobs').select(['instance_id', 'status']).where('type', '=', 'catchup').execute();

  await settings.update({ 'sync.catchup.enabled': false });
  const quiet = new InProcessQueue();
  const off = make(quiet);
  await off.start();
  off.stop();
  expect(await catchups()).toEqual([]);

  await settings.update({ 'sync.catchup.enabled': true });
  const queue = new InProcessQueue();
  const scheduler = make(queue);
  await scheduler.start();
  const queued = await until(async () => {
    const rows = await catchups();
    return rows.length > 0 ? rows : null;
  });
  expect(queued).toEqual([{ instance_id: covered!.id, status: 'pending' }]);
  expect(queued.some((r) => r.instance_id === uncovered!.id || r.instance_id === offline!.id)).toBe(false);
  // Asked again (another start-up) while it waits: the same job.
  expect(await scheduler.runCatchup()).toHaveLength(1);
  expect(await catchups()).toHaveLength(1);
  // A catch-up the crash interrupted is running again: its window ended before the downtime, so one
  // more is queued behind it — and only one.
  await db.db.updateTable('sync_jobs').set({ status: 'running' }).where('type', '=', 'catchup').execute();
  const [behind] = await scheduler.runCatchup();
  expect(await scheduler.runCatchup()).toEqual([behind!]);
  expect((await catchups()).map((r) => r.status).sort()).toEqual(['pending', 'running']);
  scheduler.stop();
  await queue.close();
  await quiet.close();
});
