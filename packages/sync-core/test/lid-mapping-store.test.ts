import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { LidMappingStore } from '../src/index.ts';
import { newInstance, testDb } from './support/test-db.ts';

const LID_A = '111000@lid';
const LID_B = '222000@lid';
const PN_A = '15550001111@s.whatsapp.net';
const PN_B = '15550002222@s.whatsapp.net';
const PN_B2 = '15550009999@s.whatsapp.net';

for (const engine of TEST_ENGINES) {
  describe(`LidMappingStore on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await testDb(engine);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('one row per LID: repeats change nothing, a new phone number replaces the old one', async () => {
      const inst = await newInstance(t, 'whatsapp-baileys');
      const other = await newInstance(t, 'whatsapp-baileys');
      const store = new LidMappingStore(t.db);
      const first = await store.upsert(inst, [
        { lid: LID_A, pn: PN_A },
        { lid: LID_B, pn: PN_B },
        { lid: LID_A, pn: PN_A },
        { lid: '', pn: PN_A },
      ]);
      expect(first).toEqual({ created: 2, updated: 0 });
      expect(await store.upsert(inst, [{ lid: LID_B, pn: PN_B }])).toEqual({ created: 0, updated: 0 });
      const before = await t.db
        .selectFrom('lid_mappings')
        .select(['lid', 'updated_at'])
        .where('instance_id', '=', inst)
        .where('lid', '=', LID_A)
        .executeTakeFirstOrThrow();
      expect(
        await store.upsert(inst, [
          { lid: LID_A, pn: PN_A },
          { lid: LID_B, pn: PN_A },
          { lid: LID_B, pn: PN_B2 },
        ]),
      ).toEqual({ created: 0, updated: 1 });
      expect(await store.list(inst)).toEqual([
        { lid: LID_A, pn: PN_A },
        { lid: LID_B, pn: PN_B2 },
      ]);
      const after = await t.db
        .selectFrom('lid_mappings')
        .select('updated_at')
        .where('instance_id', '=', inst)
        .where('lid', '=', LID_A)
        .executeTakeFirstOrThrow();
      expect(after.updated_at).toEqual(before.updated_at);
      expect(await store.upsert(inst, [])).toEqual({ created: 0, updated: 0 });
      expect(await store.list(other)).toEqual([]);
      expect(await store.upsert(other, [{ lid: LID_A, pn: PN_B }])).toEqual({ created: 1, updated: 0 });
      expect(await store.list(inst)).toHaveLength(2);
    });
  });
}
