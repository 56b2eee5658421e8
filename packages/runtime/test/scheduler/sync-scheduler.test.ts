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
  const token = cipher.encryptJson({ token: 't' });
  const [fresh, stale, off] = await db.db
    .insertInto('instances')
    .values([
      { name: 'fresh', channel: 'discord', credentials: token, profile_synced_at: new Date() },
      {
        name: 'stale',
        channel: 'discord',
        credentials: token,
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
