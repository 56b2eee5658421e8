import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'kysely';
import pg from 'pg';
import type { ChangeListener, ChangeSubscription } from '../src/change-feed.ts';
import { createTestDb, TEST_ENGINES, type TestDb } from '../src/testing.ts';

/** A listener that records what it hears, with a way to wait for a condition on it. */
function recorder() {
  const heard: string[] = [];
  const states: boolean[] = [];
  const listener: ChangeListener = {
    notify: (payload) => heard.push(payload),
    listening: (on) => states.push(on),
  };
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 400 && !ok(); i++) await Bun.sleep(10);
    if (!ok()) throw new Error(`timed out waiting for ${what}`);
  };
  return { heard, states, listener, until };
}

for (const engine of TEST_ENGINES) {
  describe(`message change feed on ${engine} (migration 0015)`, () => {
    let t: TestDb;
    let a: string;
    let b: string;
    beforeAll(async () => {
      t = await createTestDb(engine);
      const rows = await t.db
        .insertInto('instances')
        .values([
          { name: `feed-a-${engine}`, channel: 'discord' },
          { name: `feed-b-${engine}`, channel: 'discord' },
        ])
        .returning('id')
        .execute();
      a = rows[0]?.id as string;
      b = rows[1]?.id as string;
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    const message = (instance: string, id: string) => ({
      instance_id: instance,
      chat_external_id: 'c1',
      external_id: id,
      sent_at: new Date('2026-12-01T10:00:00Z'),
      kind: 'text',
      text: id,
    });

    test('one notification per instance per statement: insert, update, delete; none for other tables', async () => {
      const r = recorder();
      const sub: ChangeSubscription = t.listen('omni_messages', r.listener);
      try {
        await r.until('listening', () => r.states.at(-1) === true);
        // 200 rows of instance a and one of b in one statement: one notification each.
        await t.db
          .insertInto('messages')
          .values([...Array.from({ length: 200 }, (_, i) => message(a, `m${i}`)), message(b, 'x1')])
          .execute();
        await r.until('the insert', () => r.heard.length >= 2);
        expect([...r.heard].sort()).toEqual([a, b].sort());
        r.heard.length = 0;
        await t.db
          .updateTable('messages')
          .set({ media_local_path: 'a/file.jpg' })
          .where('instance_id', '=', a)
          .where('external_id', '=', 'm3')
          .execute();
        await r.until('the update', () => r.heard.length >= 1);
        expect(r.heard).toEqual([a]);
        r.heard.length = 0;
        await t.db.deleteFrom('messages').where('instance_id', '=', b).execute();
        await r.until('the delete', () => r.heard.length >= 1);
        expect(r.heard).toEqual([b]);
        r.heard.length = 0;
        // A rolled-back write is not heard; a write elsewhere is not either.
        await t.db
          .transaction()
          .execute(async (trx) => {
            await trx.insertInto('messages').values(message(a, 'gone')).execute();
            throw new Error('roll back');
          })
          .catch(() => {});
        await t.db.updateTable('instances').set({ name: 'renamed' }).where('id', '=', a).execute();
        await t.db.insertInto('messages').values(message(b, 'x2')).execute();
        await r.until('the last insert', () => r.heard.length >= 1);
        expect(r.heard).toEqual([b]);
      } finally {
        await sub.close();
      }
      expect(r.states.at(-1)).toBe(false);
    }, 30_000);

    if (engine === 'postgres') {
      test('a lost connection is said (listening false) and the feed comes back by itself', async () => {
        const r = recorder();
        const sub = t.listen('omni_messages', r.listener);
        try {
          await r.until('listening', () => r.states.at(-1) === true);
          const admin = new pg.Client({ connectionString: t.url });
          await admin.connect();
          try {
            const killed = await admin.query(
              `select pg_terminate_backend(pid) from pg_stat_activity
                where datname = current_database() and query = 'LISTEN omni_messages'`,
            );
            expect(killed.rows.length).toBe(1);
          } finally {
            await admin.end();
          }
          await r.until('the loss', () => r.states.includes(false));
          await r.until('listening again', () => r.states.at(-1) === true);
          await t.db.insertInto('messages').values(message(a, 'after')).execute();
          await r.until('the insert after the reconnect', () => r.heard.includes(a));
        } finally {
          await sub.close();
        }
      }, 30_000);
    }

    test('channel names are identifiers, never input', () => {
      expect(() => t.listen('omni_messages; drop table messages', recorder().listener)).toThrow(RangeError);
      expect(() => t.listen('', recorder().listener)).toThrow(RangeError);
    });

    test('the triggers are statement-level (one firing per statement, not per row)', async () => {
      const rows = await sql<{ tgname: string; tgtype: number }>`
        select tgname, tgtype from pg_trigger where tgname like 'messages_notify_%' order by tgname`.execute(
        t.db,
      );
      expect(rows.rows.map((x) => x.tgname)).toEqual([
        'messages_notify_delete',
        'messages_notify_insert',
        'messages_notify_update',
      ]);
      // Bit 0 of tgtype is FOR EACH ROW.
      for (const row of rows.rows) expect(row.tgtype & 1).toBe(0);
    });
  });
}
