import { afterAll, beforeAll, expect, test } from 'bun:test';
import { auth, createInstance, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
let instanceId: string;

beforeAll(async () => {
  t = await createTestApp();
  instanceId = await createInstance(t, 'm');
  const base = Date.parse('2026-02-01T00:00:00Z');
  await t.db.db
    .insertInto('messages')
    .values(
      Array.from({ length: 5 }, (_, i) => ({
        instance_id: instanceId,
        chat_external_id: i < 3 ? 'chat-a' : 'chat-b',
        external_id: `m${i}`,
        sent_at: new Date(base + i * 60_000),
        kind: 'text',
        text: `hello ${i}`,
      })),
    )
    .execute();
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const list = (query: string) =>
  t.app.inject({ url: `/api/v2/instances/${instanceId}/messages${query}`, headers: auth });

test('newest first, paged by cursor without gaps or repeats', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.statusCode).toBe(200);
    seen.push(...res.json().items.map((m: { externalId: string }) => m.externalId));
    cursor = res.json().meta.cursor;
  } while (cursor);
  expect(seen).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
});

test('filters by chat and time window; order=asc', async () => {
  const res = await list('?chatId=chat-a&order=asc');
  expect(res.json().items.map((m: { externalId: string }) => m.externalId)).toEqual(['m0', 'm1', 'm2']);
  expect(res.json().items[0]).toMatchObject({
    chatId: 'chat-a',
    text: 'hello 0',
    kind: 'text',
    hasMedia: false,
  });
  const window = await list('?since=2026-02-01T00:01:00Z&until=2026-02-01T00:03:00Z');
  expect(window.json().items.map((m: { externalId: string }) => m.externalId)).toEqual(['m2', 'm1']);
});

test('bad input is 400, unknown instance 404', async () => {
  expect((await list('?since=yesterday')).statusCode).toBe(400);
  expect((await list('?since=2026-03-01T00:00:00Z&until=2026-02-01T00:00:00Z')).statusCode).toBe(400);
  expect((await list('?cursor=abc')).statusCode).toBe(400);
  const res = await t.app.inject({
    url: '/api/v2/instances/00000000-0000-4000-8000-000000000000/messages',
    headers: auth,
  });
  expect(res.statusCode).toBe(404);
});
