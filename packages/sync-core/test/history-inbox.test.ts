import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { DedupeWriter, HistoryInbox, HistoryIngestor, instanceId, type PushedHistory } from '../src/index.ts';
import { at, msg } from './support/messages.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`HistoryInbox on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await testDb(engine);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    const chunk = async (prefix: string): Promise<PushedHistory> => ({
      instanceId: instanceId(await createInstance(t, 'whatsapp-baileys')),
      syncType: 'INITIAL_BOOTSTRAP',
      messages: [
        msg('c1@s.whatsapp.net', `${prefix}1`, at(1)),
        msg('c1@s.whatsapp.net', `${prefix}2`, at(2)),
      ],
      chats: [],
      contacts: [],
    });
    const stored = async (id: string) =>
      (await t.db.selectFrom('messages').select('external_id').where('instance_id', '=', id).execute())
        .map((r) => r.external_id)
        .sort();

    test('put writes the batch down; commit stores it and deletes the row in one go; a second commit finds nothing', async () => {
      const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)));
      const batch = await chunk('p');
      const id = await inbox.put(batch);
      expect((await inbox.pending(batch.instanceId)).map((e) => e.id)).toEqual([id]);
      expect(await stored(batch.instanceId)).toEqual([]);
      expect(await inbox.commit(id, batch)).not.toBeNull();
      expect(await stored(batch.instanceId)).toEqual(['p1', 'p2']);
      expect(await inbox.pending(batch.instanceId)).toEqual([]);
      expect(await inbox.commit(id, batch)).toBeNull();
    });

    test('replay stores what an earlier run wrote down but did not store', async () => {
      const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)));
      const a = await chunk('ra');
      const b = await chunk('rb');
      await inbox.put(a);
      await inbox.put(b);
      expect(await inbox.replay(a.instanceId)).toBe(1);
      expect(await stored(a.instanceId)).toEqual(['ra1', 'ra2']);
      expect(await stored(b.instanceId)).toEqual([]);
      expect(await inbox.replay()).toBeGreaterThanOrEqual(1);
      expect(await stored(b.instanceId)).toEqual(['rb1', 'rb2']);
      expect(await inbox.pending()).toEqual([]);
    });

    test('a row holds the batch compressed; replay also reads a row written as JSON text (before 0014)', async () => {
      const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)));
      const batch = await chunk('z');
      const id = await inbox.put(batch);
      const row = await t.db
        .selectFrom('history_inbox')
        .select(['payload', 'body'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row.payload).toBeNull();
      expect(row.body?.length).toBeGreaterThan(0);
      expect(row.body?.length).toBeLessThan(JSON.stringify(batch).length);
      const old = await chunk('old');
      await t.db
        .insertInto('history_inbox')
        .values({
          instance_id: old.instanceId,
          sync_type: old.syncType,
          messages: old.messages.length,
          payload: JSON.stringify(old),
        })
        .execute();
      expect(await inbox.replay()).toBeGreaterThanOrEqual(2);
      expect(await stored(batch.instanceId)).toEqual(['z1', 'z2']);
      expect(await stored(old.instanceId)).toEqual(['old1', 'old2']);
      expect(await inbox.pending()).toEqual([]);
    });

    if (engine === 'postgres') {
      test('putAndCommit: stored and no row left; the storing commits only with the row written', async () => {
        const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)));
        const batch = await chunk('pc');
        const { inboxId, error } = await inbox.putAndCommit(batch);
        expect(error).toBeNull();
        expect(inboxId).not.toBeNull();
        expect(await stored(batch.instanceId)).toEqual(['pc1', 'pc2']);
        expect(await inbox.pending(batch.instanceId)).toEqual([]);
        // The inbox write fails (no such instance): nothing is stored either.
        const orphan = { ...batch, instanceId: instanceId(crypto.randomUUID()) };
        const failed = await inbox.putAndCommit(orphan);
        expect(failed.error).not.toBeNull();
        expect(failed.inboxId).toBeNull();
        expect(await stored(orphan.instanceId)).toEqual([]);
      });
    }
  });
}
