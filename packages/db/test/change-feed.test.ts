import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import net from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import { type ChangeListener, type ChangeSubscription, postgresListen } from '../src/change-feed.ts';
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

/** What a {@link startRelay} connection makes of each chunk in either direction (`null`: dropped). */
interface RelayPipe {
  toServer(chunk: Buffer): Buffer | null;
  toClient(chunk: Buffer): Buffer | null;
}

/** A TCP relay on 127.0.0.1 to the Postgres of `target` (a URL), each connection through `pipe()`; the URL through it. */
async function startRelay(
  target: string,
  pipe: () => RelayPipe,
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const relay = net.createServer({ allowHalfOpen: true }, (client) => {
    const server = net.connect(Number(new URL(target).port || 5432), '127.0.0.1');
    sockets.push(client, server);
    const p = pipe();
    client.on('data', (d: Buffer) => {
      const out = p.toServer(d);
      if (out && out.length > 0) server.write(out);
    });
    server.on('data', (d: Buffer) => {
      const out = p.toClient(d);
      if (out && out.length > 0) client.write(out);
    });
    client.on('error', () => {});
    server.on('error', () => {});
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
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

    const message = (instance: string, id: string, chat = 'c1', at = '2026-12-01T10:00:00Z') => ({
      instance_id: instance,
      chat_external_id: chat,
      external_id: id,
      sent_at: new Date(at),
      kind: 'text',
      text: id,
    });

    const md5 = (text: string) => new Bun.CryptoHasher('md5').update(text).digest('hex');
    const ms = (iso: string) => Date.parse(iso);

    test('one notification per chat per statement with the span of sent_at it touched: insert, update (old and new rows), delete', async () => {
      const r = recorder();
      const sub: ChangeSubscription = t.listen('omni_messages', r.listener);
      try {
        await r.until('listening', () => r.states.at(-1) === true);
        // 200 rows of instance a over two chats and one of b, in one statement.
        await t.db
          .insertInto('messages')
          .values([
            ...Array.from({ length: 200 }, (_, i) =>
              message(
                a,
                `m${i}`,
                i % 2 ? 'c1' : 'c2',
                `2026-12-01T10:00:${String(i % 60).padStart(2, '0')}.250Z`,
              ),
            ),
            message(b, 'x1', 'c1', '2026-12-02T00:00:00Z'),
          ])
          .execute();
        await r.until('the insert', () => r.heard.length >= 3);
        expect([...r.heard].sort()).toEqual(
          [
            `${a} ${md5('c1')} ${ms('2026-12-01T10:00:01.250Z')} ${ms('2026-12-01T10:00:59.250Z')}`,
            `${a} ${md5('c2')} ${ms('2026-12-01T10:00:00.250Z')} ${ms('2026-12-01T10:00:58.250Z')}`,
            `${b} ${md5('c1')} ${ms('2026-12-02T00:00:00Z')} ${ms('2026-12-02T00:00:00Z')}`,
          ].sort(),
        );
        r.heard.length = 0;
        // Sub-millisecond times widen to whole milliseconds.
        await t.db
          .insertInto('messages')
          .values({
            ...message(b, 'x2', 'c1', '2026-12-02T00:00:00Z'),
            sent_at: sql`'2026-12-03 00:00:00.0005+00'` as never,
          })
          .execute();
        await r.until('the µs insert', () => r.heard.length >= 1);
        expect(r.heard).toEqual([
          `${b} ${md5('c1')} ${ms('2026-12-03T00:00:00Z')} ${ms('2026-12-03T00:00:00.001Z')}`,
        ]);
        r.heard.length = 0;
        // An update that moves a message is a change where it was and where it is.
        await t.db
          .updateTable('messages')
          .set({ sent_at: new Date('2026-12-05T00:00:00Z') })
          .where('instance_id', '=', b)
          .where('external_id', '=', 'x1')
          .execute();
        await r.until('the update', () => r.heard.length >= 1);
        expect(r.heard).toEqual([
          `${b} ${md5('c1')} ${ms('2026-12-02T00:00:00Z')} ${ms('2026-12-05T00:00:00Z')}`,
        ]);
        r.heard.length = 0;
        await t.db
          .deleteFrom('messages')
          .where('instance_id', '=', b)
          .where('external_id', '=', 'x2')
          .execute();
        await r.until('the delete', () => r.heard.length >= 1);
        expect(r.heard).toEqual([
          `${b} ${md5('c1')} ${ms('2026-12-03T00:00:00Z')} ${ms('2026-12-03T00:00:00.001Z')}`,
        ]);
        r.heard.length = 0;
        // A rolled-back write is not heard; a write elsewhere is not either.
        await t.db
          .transaction()
          .execute(async (trx) => {
            await trx
              .insertInto('messages')
              .values(message(a, 'gone', 'c1', '2026-12-01T00:00:00Z'))
              .execute();
            throw new Error('roll back');
          })
          .catch(() => {});
        await t.db.updateTable('instances').set({ name: 'renamed' }).where('id', '=', a).execute();
        await t.db
          .insertInto('messages')
          .values(message(b, 'x3', 'c9', '2026-12-01T00:00:00Z'))
          .execute();
        await r.until('the last insert', () => r.heard.length >= 1);
        expect(r.heard).toEqual([
          `${b} ${md5('c9')} ${ms('2026-12-01T00:00:00Z')} ${ms('2026-12-01T00:00:00Z')}`,
        ]);
        r.heard.length = 0;
        // More than 100 chats of an instance in one statement: one notification for the instance.
        await t.db
          .insertInto('messages')
          .values(
            Array.from({ length: 101 }, (_, i) => message(a, `many${i}`, `chat${i}`, '2026-12-01T00:00:00Z')),
          )
          .execute();
        await r.until('the wide insert', () => r.heard.length >= 1);
        await Bun.sleep(50);
        expect(r.heard).toEqual([a]);
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
                where datname = current_database() and application_name = 'omni-listen omni_messages'`,
            );
            expect(killed.rows.length).toBe(1);
          } finally {
            await admin.end();
          }
          await r.until('the loss', () => r.states.includes(false));
          await r.until('listening again', () => r.states.at(-1) === true);
          await t.db.insertInto('messages').values(message(a, 'after')).execute();
          await r.until('the insert after the reconnect', () => r.heard.some((p) => p.startsWith(a)));
        } finally {
          await sub.close();
        }
      }, 30_000);
    }

    if (engine === 'postgres') {
      test('a connection cut without a word (no FIN, no RST) is found by its pings, said, and replaced', async () => {
        // A TCP relay to Postgres that can go silent: a NAT dropping an idle flow, a partition. A
        // connection that carried something while silent stays cut.
        let silent = false;
        const relay = await startRelay(t.url as string, () => {
          let cut = false;
          const pass = (d: Buffer) => {
            if (silent) cut = true;
            return cut ? null : d;
          };
          return { toServer: pass, toClient: pass };
        });
        const url = relay.url;
        const r = recorder();
        const sub = postgresListen(url.toString(), { pingMs: 100, pingTimeoutMs: 300 })(
          'omni_messages',
          r.listener,
        );
        try {
          await r.until('listening', () => r.states.at(-1) === true);
          silent = true; // what the relay carries from now on is lost, and it says nothing
          await r.until('the loss', () => r.states.includes(false));
          silent = false; // new connections get through
          await r.until('listening again', () => r.states.at(-1) === true);
          await t.db.insertInto('messages').values(message(a, 'after-silence')).execute();
          await r.until('the insert after the silence', () => r.heard.some((p) => p.startsWith(a)));
          // Closed while cut (its end is never answered): close waits pingTimeoutMs at most.
          const quiet = recorder();
          const idle = postgresListen(url.toString(), { pingMs: 60_000, pingTimeoutMs: 300 })(
            'omni_messages',
            quiet.listener,
          );
          await quiet.until('listening', () => quiet.states.at(-1) === true);
          silent = true;
          const started = Date.now();
          await idle.close();
          expect(Date.now() - started).toBeLessThan(1_500);
          expect(quiet.states.at(-1)).toBe(false);
        } finally {
          silent = false;
          await sub.close();
          await relay.close();
        }
      }, 30_000);
    }

    if (engine === 'postgres') {
      test('a connection that answers queries but delivers no notifications (a pooler without sessions) never says it listens', async () => {
        // A relay to Postgres that drops every NotificationResponse ('A') it carries to the client,
        // as PgBouncer in transaction mode in effect does: queries work, LISTEN "succeeds", nothing is heard.
        const relay = await startRelay(t.url as string, () => {
          let pending = Buffer.alloc(0);
          return {
            toServer: (d) => d,
            toClient: (d) => {
              pending = Buffer.concat([pending, d]);
              const out: Buffer[] = [];
              while (pending.length >= 5) {
                const size = 1 + pending.readUInt32BE(1);
                if (pending.length < size) break;
                if (pending[0] !== 0x41) out.push(pending.subarray(0, size));
                pending = pending.subarray(size);
              }
              return Buffer.concat(out);
            },
          };
        });
        const url = new URL(relay.url);
        const r = recorder();
        const sub = postgresListen(url.toString(), { pingMs: 100, pingTimeoutMs: 200 })(
          'omni_messages',
          r.listener,
        );
        try {
          // Queries get through the relay (it is not simply down) …
          const direct = new pg.Client({ connectionString: url.toString() });
          await direct.connect();
          expect((await direct.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
          await direct.end();
          // … yet over several probe rounds and reconnects the subscription never says it listens.
          await Bun.sleep(1_500);
          expect(r.states.includes(true)).toBe(false);
        } finally {
          await sub.close();
          await relay.close();
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
        'messages_notify_truncate',
        'messages_notify_update',
      ]);
      // Bit 0 of tgtype is FOR EACH ROW.
      for (const row of rows.rows) expect(row.tgtype & 1).toBe(0);
    });

    test('a TRUNCATE of messages (which fires no delete trigger) notifies an empty payload: anything may have changed', async () => {
      const r = recorder();
      const sub = t.listen('omni_messages', r.listener);
      try {
        await r.until('listening', () => r.states.at(-1) === true);
        await t.db.insertInto('messages').values(message(a, 'before-truncate')).execute();
        await r.until('the insert', () => r.heard.length >= 1);
        r.heard.length = 0;
        await sql`truncate messages`.execute(t.db);
        await r.until('the truncate', () => r.heard.length >= 1);
        expect(r.heard).toEqual(['']);
      } finally {
        await sub.close();
      }
    }, 30_000);
  });
}
