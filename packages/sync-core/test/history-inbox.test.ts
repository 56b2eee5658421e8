import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import {
  DedupeWriter,
  externalUserId,
  HistoryInbox,
  HistoryIngestor,
  instanceId,
  type PushedHistory,
} from '../src/index.ts';
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
      const rows = async (id: string) =>
        (
          await t.db
            .selectFrom('history_inbox')
            .select(sql<string>`id::text`.as('id'))
            .where('instance_id', '=', id)
            .orderBy('id')
            .execute()
        ).map((r) => r.id);

      test('putAndCommit: stored in one statement; the row, written beside it, goes with the next chunk', async () => {
        const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)), {
          idleDeleteMs: 60_000,
        });
        const batch = await chunk('pc');
        const { inboxId, error } = await inbox.putAndCommit(batch);
        expect(error).toBeNull();
        expect(inboxId).not.toBeNull();
        expect(await stored(batch.instanceId)).toEqual(['pc1', 'pc2']);
        // Stored and written: its delete is pending, off the chunk's path.
        expect(inbox.pendingDeletes()).toEqual([inboxId as string]);
        expect(await rows(batch.instanceId)).toEqual([inboxId as string]);
        const next = { ...batch, messages: [msg('c1@s.whatsapp.net', 'pc3', at(3))] };
        const second = await inbox.putAndCommit(next);
        expect(second.error).toBeNull();
        expect(await stored(batch.instanceId)).toEqual(['pc1', 'pc2', 'pc3']);
        // The second chunk's statement deleted the first row; its own waits in turn.
        expect(await rows(batch.instanceId)).toEqual([second.inboxId as string]);
        expect(inbox.pendingDeletes()).toEqual([second.inboxId as string]);
        expect(await inbox.flushDeletes()).toBe(1);
        expect(inbox.pendingDeletes()).toEqual([]);
        expect(await inbox.pending(batch.instanceId)).toEqual([]);
        expect(await inbox.flushDeletes()).toBe(0);
        // The inbox write fails (no such instance): nothing is stored either.
        const orphan = { ...batch, instanceId: instanceId(crypto.randomUUID()) };
        const failed = await inbox.putAndCommit(orphan);
        expect(failed.error).not.toBeNull();
        expect(failed.inboxId).toBeNull();
        expect(await stored(orphan.instanceId)).toEqual([]);
        expect(inbox.pendingDeletes()).toEqual([]);
      });

      test('putAndCommit: the last row goes by itself once the chunks stop (idle delete)', async () => {
        const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)), {
          idleDeleteMs: 20,
        });
        const batch = await chunk('idle');
        const { inboxId, error } = await inbox.putAndCommit(batch);
        expect(error).toBeNull();
        expect(inboxId).not.toBeNull();
        for (let i = 0; i < 100 && (await rows(batch.instanceId)).length > 0; i++) await Bun.sleep(20);
        expect(await rows(batch.instanceId)).toEqual([]);
        expect(inbox.pendingDeletes()).toEqual([]);
        expect(await stored(batch.instanceId)).toEqual(['idle1', 'idle2']);
      });

      test('a row left behind by a crash after the storing replays idempotently: nothing new, all duplicates', async () => {
        const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
        const crashed = new HistoryInbox(t.db, ingestor, { idleDeleteMs: 60_000 });
        const a = await chunk('cr');
        const b = { ...a, messages: [msg('c1@s.whatsapp.net', 'cr3', at(3))] };
        const first = await crashed.putAndCommit(a);
        const second = await crashed.putAndCommit(b);
        expect([first.error, second.error]).toEqual([null, null]);
        // The process dies here: the second row's delete never ran.
        expect(await rows(a.instanceId)).toEqual([second.inboxId as string]);
        const before = await t.db
          .selectFrom('messages')
          .selectAll()
          .where('instance_id', '=', a.instanceId)
          .execute();
        const restarted = new HistoryInbox(t.db, ingestor);
        const again = await restarted.commit(second.inboxId as string, b);
        expect(again?.messages).toMatchObject({ fetched: 1, stored: 0, duplicates: 1, updated: 0 });
        expect(again?.chats).toEqual({ created: 0, updated: 1 });
        expect(await rows(a.instanceId)).toEqual([]);
        // And through replay (what a start does): nothing new either.
        await restarted.put(a);
        expect(await restarted.replay(a.instanceId)).toBe(1);
        expect(await rows(a.instanceId)).toEqual([]);
        const after = await t.db
          .selectFrom('messages')
          .selectAll()
          .where('instance_id', '=', a.instanceId)
          .execute();
        expect(after).toEqual(before);
        // The first process's pending delete, if it ever runs, finds nothing to do.
        expect(await crashed.flushDeletes()).toBe(0);
      });

      test('putAndCommit: when the storing fails the written row stays for a later commit', async () => {
        const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)), {
          idleDeleteMs: 60_000,
        });
        const batch = await chunk('fail');
        // The storing statement fails (after a pause, so the inbox write beside it has started).
        await sql`create function boom() returns trigger language plpgsql as $$
          begin perform pg_sleep(0.2); raise exception 'boom'; end $$`.execute(t.db);
        await sql`create trigger boom before insert on contacts for each row
          when (new.external_id = 'boom') execute function boom()`.execute(t.db);
        try {
          const failing = {
            ...batch,
            contacts: [{ externalId: externalUserId('boom'), name: 'Boom', metadata: {} }],
          };
          const { inboxId, error } = await inbox.putAndCommit(failing);
          expect(String(error)).toContain('boom');
          expect(inboxId).not.toBeNull();
          expect(await stored(batch.instanceId)).toEqual([]);
          expect(await rows(batch.instanceId)).toEqual([inboxId as string]);
          expect(inbox.pendingDeletes()).toEqual([]);
          await sql`drop trigger boom on contacts`.execute(t.db);
          // What DurableHistoryHandler does next: commit the row (a transaction that deletes it).
          expect(await inbox.commit(inboxId as string, failing)).not.toBeNull();
          expect(await stored(batch.instanceId)).toEqual(['fail1', 'fail2']);
          expect(await rows(batch.instanceId)).toEqual([]);
        } finally {
          await sql`drop trigger if exists boom on contacts`.execute(t.db);
          await sql`drop function if exists boom()`.execute(t.db);
        }
      });

      test('putAndCommit of a chunk with an edit: the transaction deletes its row; pending deletes still go', async () => {
        const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)), {
          idleDeleteMs: 60_000,
        });
        const batch = await chunk('ed');
        const first = await inbox.putAndCommit(batch);
        expect(inbox.pendingDeletes()).toEqual([first.inboxId as string]);
        const edit = {
          ...batch,
          messages: [
            msg('c1@s.whatsapp.net', 'ed-e', at(5), { kind: 'edit', targetId: 'ed1', text: 'new' } as never),
          ],
        };
        const second = await inbox.putAndCommit(edit);
        expect(second.error).toBeNull();
        expect(await rows(batch.instanceId)).toEqual([first.inboxId as string]);
        expect(await inbox.flushDeletes()).toBe(1);
        expect(await rows(batch.instanceId)).toEqual([]);
        const text = await t.db
          .selectFrom('messages')
          .select('text')
          .where('instance_id', '=', batch.instanceId)
          .where('external_id', '=', 'ed1')
          .executeTakeFirstOrThrow();
        expect(text.text).toBe('new');
      });
    }
  });
}
