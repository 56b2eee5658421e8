import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'kysely';
import { migrateToLatest, toJson } from '../src/index.ts';
import { migrations } from '../src/migrations/index.ts';
import { createTestDb, TEST_ENGINES, type TestDb } from '../src/testing.ts';

for (const engine of TEST_ENGINES) {
  describe(`schema on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await createTestDb(engine, { migrate: false });
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    test('migrations apply from empty, then are idempotent', async () => {
      const first = await migrateToLatest(t.db);
      expect(first.applied).toEqual(Object.keys(migrations));
      const second = await migrateToLatest(t.db);
      expect(second.applied).toEqual([]);
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
        t.db,
      );
      const names = tables.rows.map((r) => r.table_name);
      for (const table of [
        'instances',
        'sync_jobs',
        'sync_job_chats',
        'chats',
        'messages',
        'contacts',
        'omni_groups',
        'group_participants',
        'settings',
        'whatsapp_auth',
        'lid_mappings',
        'channel_sessions',
      ]) {
        expect(names).toContain(table);
      }
    });

    test('an instance can be any channel of the contract, and nothing else', async () => {
      for (const channel of ['discord', 'whatsapp-baileys', 'slack'] as const) {
        await t.db
          .insertInto('instances')
          .values({ name: `ch-${channel}`, channel })
          .execute();
      }
      await expect(
        sql`insert into instances (name, channel) values ('x', 'telegram')`.execute(t.db),
      ).rejects.toThrow();
    });

    test('the unique key rejects a duplicate message and ON CONFLICT skips it', async () => {
      const inst = await t.db
        .insertInto('instances')
        .values({ name: `dup-${engine}`, channel: 'discord' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const row = {
        instance_id: inst.id,
        chat_external_id: 'c1',
        external_id: 'm1',
        sent_at: new Date('2026-01-02T03:04:05Z'),
        kind: 'text',
        text: 'hello',
      };
      await t.db.insertInto('messages').values(row).execute();
      await expect(t.db.insertInto('messages').values(row).execute()).rejects.toThrow(
        /duplicate key|unique/i,
      );
      const again = await t.db
        .insertInto('messages')
        .values({ ...row, text: 'other' })
        .onConflict((oc) => oc.constraint('messages_instance_chat_external_key').doNothing())
        .returning('id')
        .execute();
      expect(again).toHaveLength(0);
      const same = await t.db.selectFrom('messages').selectAll().where('instance_id', '=', inst.id).execute();
      expect(same).toHaveLength(1);
      expect(same[0]?.text).toBe('hello');
      expect(same[0]?.sent_at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    });

    test('jsonb round-trips objects, arrays, nesting and unicode', async () => {
      const value = { a: [1, 2, { b: null }], s: 'héllo ✓ "quoted"', n: 1.5, t: true, empty: [] };
      const inst = await t.db
        .insertInto('instances')
        .values({ name: `json-${engine}`, channel: 'whatsapp-baileys', profile_metadata: toJson(value) })
        .returning(['id', 'profile_metadata'])
        .executeTakeFirstOrThrow();
      expect(inst.profile_metadata).toEqual(value);
      await t.db
        .insertInto('settings')
        .values({ key: 'arr', value: toJson(['x', 'y']) })
        .execute();
      const s = await t.db
        .selectFrom('settings')
        .select('value')
        .where('key', '=', 'arr')
        .executeTakeFirstOrThrow();
      expect(s.value).toEqual(['x', 'y']);
    });

    test('at most one running job per instance is enforced by the database', async () => {
      const inst = await t.db
        .insertInto('instances')
        .values({ name: `run-${engine}`, channel: 'discord' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await t.db
        .insertInto('sync_jobs')
        .values({ instance_id: inst.id, type: 'messages', status: 'running', config: '{}', progress: '{}' })
        .execute();
      await expect(
        t.db
          .insertInto('sync_jobs')
          .values({ instance_id: inst.id, type: 'profile', status: 'running', config: '{}', progress: '{}' })
          .execute(),
      ).rejects.toThrow();
      await t.db
        .insertInto('sync_jobs')
        .values({ instance_id: inst.id, type: 'profile', config: '{}', progress: '{}' })
        .execute();
    });
  });
}
