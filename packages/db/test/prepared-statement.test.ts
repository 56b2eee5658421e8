import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { PreparedStatement } from '../src/prepared-statement.ts';
import { createTestDb, TEST_ENGINES, type TestDb } from '../src/testing.ts';

const BY_NAME: PreparedStatement = {
  name: 'test_instances_by_name',
  text: `select id, name, is_active, created_at::text as created from instances where name = $1::text order by name`,
};

for (const engine of TEST_ENGINES) {
  describe(`prepared statements on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await createTestDb(engine);
      await t.db
        .insertInto('instances')
        .values([
          { name: 'a', channel: 'discord' },
          { name: 'b', channel: 'slack' },
        ])
        .execute();
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    test('run again and again by name, with new values each time: rows keyed by column, text and booleans', async () => {
      for (let round = 0; round < 8; round++) {
        const name = round % 2 === 0 ? 'a' : 'b';
        const rows = await t.prepared<{ id: string; name: string; is_active: boolean; created: string }>(
          BY_NAME,
          [name],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]?.name).toBe(name);
        expect(rows[0]?.is_active).toBe(true);
        expect(typeof rows[0]?.created).toBe('string');
      }
      expect(await t.prepared(BY_NAME, ['none'])).toEqual([]);
    });

    test('an error of one run (a bad value) carries its SQLSTATE as code and leaves the statement usable', async () => {
      const byId: PreparedStatement = {
        name: 'test_instance_by_id',
        text: 'select name from instances where id = $1::uuid',
      };
      // Postgres's SQLSTATE as `code` on both engines (22P02: invalid text representation).
      await expect(t.prepared(byId, ['not-a-uuid'])).rejects.toMatchObject({ code: '22P02' });
      expect(await t.prepared(byId, ['00000000-0000-4000-8000-000000000000'])).toEqual([]);
    });
  });
}
