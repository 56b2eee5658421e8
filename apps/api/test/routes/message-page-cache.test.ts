import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createDb, type OmniDb } from '@omni/db';
import { DedupeWriter, instanceId, type NormalizedMessage } from '@omni/sync-core';
import { sql } from 'kysely';
import { encodeCursor } from '../../src/services/mappers.ts';
import { auth, createInstance, createTestApp, type TestApp } from '../helpers.ts';

/**
 * The message-page cache through the real app (`buildApp`'s services, the chats route) on
 * Postgres, with every write made as a worker process makes it: through its own database
 * connections (a second `createDb`), never through the API. Pages are kept for 5 minutes when no change
 * is heard, so each "shows … within seconds" below fails if a change were not heard.
 */
let t: TestApp;
let worker: OmniDb;
let writer: DedupeWriter;
let instance: string;
let chatId: string;
const BASE = Date.parse('2026-11-01T00:00:00Z');

const message = (n: number, extra: Partial<NormalizedMessage> = {}): NormalizedMessage =>
  ({
    externalId: `m${String(n).padStart(4, '0')}`,
    chatId: 'chan-1',
    senderId: 'u1',
    senderName: 'User',
    timestamp: BASE + n * 1000,
    kind: 'text',
    text: `message ${n}`,
    media: [],
    ...extra,
  }) as NormalizedMessage;

interface Page {
  items: { externalId: string; textContent: string | null; mediaUrl: string | null }[];
  meta: { hasMore: boolean; cursor: string | null };
}

const get = async (query = '') => {
  const res = await t.app.inject({
    url: `/api/v2/chats/${chatId}/messages?limit=50${query}`,
    headers: auth,
  });
  expect(res.statusCode).toBe(200);
  return { text: res.body, page: res.json() as Page };
};

/** Asks for the page until `ok` holds (a change is heard when its transaction commits). */
async function eventually(query: string, ok: (page: Page) => boolean): Promise<Page> {
  let last: Page | null = null;
  for (let i = 0; i < 200; i++) {
    last = (await get(query)).page;
    if (ok(last)) return last;
    await Bun.sleep(20);
  }
  throw new Error(`the page never showed the change: ${JSON.stringify(last?.items.slice(0, 2))}`);
}

beforeAll(async () => {
  t = await createTestApp();
  worker = await createDb({ databaseUrl: t.db.url, migrate: false });
  writer = new DedupeWriter(worker.db);
  instance = await createInstance(t, 'paged');
  await writer.writeBatch({
    instanceId: instanceId(instance),
    messages: Array.from({ length: 120 }, (_, i) => message(i)),
  });
  const chats = await t.app.inject({ url: `/api/v2/chats?instanceId=${instance}`, headers: auth });
  chatId = chats.json().items[0].id;
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
}, 60_000);

describe('message pages are kept until a change of what they show commits, in any process', () => {
  test('a page asked for twice is answered from the cache the second time, byte for byte', async () => {
    await get();
    for (let i = 0; i < 200 && !t.app.messagePages.stats().listening; i++) await Bun.sleep(10);
    expect(t.app.messagePages.stats().listening).toBe(true);
    const first = await get();
    const hits = t.app.messagePages.stats().hits;
    const second = await get();
    expect(second.text).toBe(first.text);
    expect(t.app.messagePages.stats().hits).toBe(hits + 1);
    expect(first.page.items[0]?.externalId).toBe('m0119');
  });

  test('a new message written by another process shows on the newest page', async () => {
    await get();
    await writer.writeBatch({ instanceId: instanceId(instance), messages: [message(500)] });
    const page = await eventually('', (p) => p.items[0]?.externalId === 'm0500');
    expect(page.items).toHaveLength(50);
  });

  test('an edit shows on a deeper (cursor) page', async () => {
    const newest = (await get()).page;
    const query = `&cursor=${encodeURIComponent(newest.meta.cursor as string)}`;
    const deeper = (await get(query)).page;
    const target = deeper.items[5]?.externalId as string;
    expect(deeper.items[5]?.textContent).not.toBe('edited');
    await writer.writeBatch({
      instanceId: instanceId(instance),
      messages: [
        message(900, {
          externalId: 'edit-1' as never,
          kind: 'edit',
          text: 'edited',
          targetId: target as never,
        }),
      ],
    });
    await eventually(query, (p) => p.items.find((m) => m.externalId === target)?.textContent === 'edited');
  });

  test('a media file stored for a message shows its media link', async () => {
    const target = (await get()).page.items[3]?.externalId as string;
    await worker.db
      .updateTable('messages')
      .set({ has_media: true, media_local_path: `${instance}/photo.jpg` })
      .where('instance_id', '=', instance)
      .where('external_id', '=', target)
      .execute();
    const page = await eventually('', (p) => p.items.find((m) => m.externalId === target)?.mediaUrl !== null);
    expect(page.items.find((m) => m.externalId === target)?.mediaUrl).toEndWith(
      `/media/${instance}/photo.jpg`,
    );
  });

  test('a deleted message leaves the page', async () => {
    const target = (await get()).page.items[1]?.externalId as string;
    await worker.db
      .deleteFrom('messages')
      .where('instance_id', '=', instance)
      .where('external_id', '=', target)
      .execute();
    await eventually('', (p) => !p.items.some((m) => m.externalId === target));
  });

  test('a new message leaves deeper pages kept, and so does a write to another chat', async () => {
    const newest = (await get()).page;
    const query = `&cursor=${encodeURIComponent(newest.meta.cursor as string)}`;
    const deeper = await get(query);
    await writer.writeBatch({ instanceId: instanceId(instance), messages: [message(700)] });
    await writer.writeBatch({
      instanceId: instanceId(instance),
      messages: [message(10, { chatId: 'chan-2' as never })],
    });
    await eventually('', (p) => p.items[0]?.externalId === 'm0700');
    const hits = t.app.messagePages.stats().hits;
    expect((await get(query)).text).toBe(deeper.text);
    expect(t.app.messagePages.stats().hits).toBe(hits + 1);
  });

  test('history older than everything shows on the last page', async () => {
    let query = '';
    let page = (await get()).page;
    while (page.meta.hasMore) {
      query = `&cursor=${encodeURIComponent(page.meta.cursor as string)}`;
      page = (await get(query)).page;
    }
    await get(query);
    await writer.writeBatch({ instanceId: instanceId(instance), messages: [message(-10)] });
    const last = await eventually(query, (p) => p.items.some((m) => m.externalId === 'm0-10'));
    expect(last.meta.hasMore).toBe(false);
  });

  test('the message after a page going (hasMore flips) shows on that page, however much older it is', async () => {
    await writer.writeBatch({
      instanceId: instanceId(instance),
      messages: [message(1000), message(1001), message(-5000)].map((m) => ({
        ...m,
        chatId: 'chan-3' as never,
      })),
    });
    const chats = await t.app.inject({
      url: `/api/v2/chats?instanceId=${instance}&limit=100`,
      headers: auth,
    });
    const chat3 = (chats.json().items as { id: string; externalId: string }[]).find(
      (c) => c.externalId === 'chan-3',
    );
    const url = `/api/v2/chats/${chat3?.id}/messages?limit=2`;
    const page = async () => (await t.app.inject({ url, headers: auth })).json() as Page;
    // Kept (the write's own notification may drop the first reads).
    let kept = false;
    for (let i = 0; i < 200 && !kept; i++) {
      const hits = t.app.messagePages.stats().hits;
      expect((await page()).meta.hasMore).toBe(true);
      kept = t.app.messagePages.stats().hits === hits + 1;
      if (!kept) await Bun.sleep(10);
    }
    expect(kept).toBe(true);
    // The only message older than the page's goes: no page follows it any more.
    await worker.db
      .deleteFrom('messages')
      .where('instance_id', '=', instance)
      .where('chat_external_id', '=', 'chan-3')
      .where('external_id', '=', 'm-5000')
      .execute();
    for (let i = 0; i < 200 && (await page()).meta.hasMore; i++) await Bun.sleep(20);
    expect((await page()).meta).toEqual({ hasMore: false, cursor: null });
  });

  test('a page whose next message has a time JavaScript cannot hold (-infinity) is answered', async () => {
    await writer.writeBatch({
      instanceId: instanceId(instance),
      messages: [message(1000), message(1001)].map((m) => ({ ...m, chatId: 'chan-4' as never })),
    });
    await worker.db
      .insertInto('messages')
      .values({
        instance_id: instance,
        chat_external_id: 'chan-4',
        external_id: 'ancient',
        sent_at: sql`'-infinity'::timestamptz` as never,
        kind: 'text',
        text: 'ancient',
      })
      .execute();
    const chats = await t.app.inject({
      url: `/api/v2/chats?instanceId=${instance}&limit=100`,
      headers: auth,
    });
    const chat4 = (chats.json().items as { id: string; externalId: string }[]).find(
      (c) => c.externalId === 'chan-4',
    );
    const res = await t.app.inject({ url: `/api/v2/chats/${chat4?.id}/messages?limit=2`, headers: auth });
    expect(res.statusCode).toBe(200);
    expect((res.json() as Page).meta.hasMore).toBe(true);
  });

  test('a page under a cursor time without a zone is dropped by a change it shows, whatever the process zone', async () => {
    // Postgres reads such a time in its session's zone (UTC here), JavaScript in the process's.
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo';
    try {
      const cursor = encodeCursor(['2026-11-01T00:01:00.000000', 'ffffffff-ffff-4fff-bfff-ffffffffffff']);
      const query = `&cursor=${cursor}`;
      expect((await get(query)).page.items[0]?.externalId).toBe('m0060');
      let kept = false;
      for (let i = 0; i < 200 && !kept; i++) {
        const hits = t.app.messagePages.stats().hits;
        await get(query);
        kept = t.app.messagePages.stats().hits === hits + 1;
        if (!kept) await Bun.sleep(10);
      }
      expect(kept).toBe(true);
      await worker.db
        .updateTable('messages')
        .set({ text: 'zoned' })
        .where('instance_id', '=', instance)
        .where('chat_external_id', '=', 'chan-1')
        .where('external_id', '=', 'm0030')
        .execute();
      await eventually(query, (p) => p.items.find((m) => m.externalId === 'm0030')?.textContent === 'zoned');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test('with the feed cut, pages are read from the database (and correct) until it is back', async () => {
    await get();
    // The API's LISTEN connection ends, as a Postgres restart or a network cut would end it.
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name = 'omni-listen omni_messages'`.execute(
      worker.db,
    );
    for (let i = 0; i < 200 && t.app.messagePages.stats().listening; i++) await Bun.sleep(5);
    await writer.writeBatch({ instanceId: instanceId(instance), messages: [message(800)] });
    // Whether or not the feed is back yet, the page shows the write at once (nothing stale is kept).
    expect((await get()).page.items[0]?.externalId).toBe('m0800');
    for (let i = 0; i < 400 && !t.app.messagePages.stats().listening; i++) await Bun.sleep(10);
    expect(t.app.messagePages.stats().listening).toBe(true);
    await get();
    const hits = t.app.messagePages.stats().hits;
    await get();
    expect(t.app.messagePages.stats().hits).toBe(hits + 1);
  });

  // Last: it empties the table.
  test('a TRUNCATE of messages (no delete trigger fires) empties the page', async () => {
    let kept = false;
    for (let i = 0; i < 200 && !kept; i++) {
      const hits = t.app.messagePages.stats().hits;
      expect((await get()).page.items.length).toBe(50);
      kept = t.app.messagePages.stats().hits === hits + 1;
      if (!kept) await Bun.sleep(10);
    }
    expect(kept).toBe(true);
    await sql`truncate messages`.execute(worker.db);
    await eventually('', (p) => p.items.length === 0);
  });
});
