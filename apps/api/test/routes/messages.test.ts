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

test('WhatsApp media keys and the encrypted file path are never in /messages answers', async () => {
  await t.db.db
    .insertInto('messages')
    .values({
      instance_id: instanceId,
      chat_external_id: 'chat-k',
      external_id: 'media-1',
      sent_at: new Date('2026-02-02T00:00:00Z'),
      kind: 'image',
      text: null,
      has_media: true,
      media_mime_type: 'image/jpeg',
      media_metadata: JSON.stringify({
        size: 1234,
        key: {
          contentType: 'imageMessage',
          mediaKey: 'c2VjcmV0LW1lZGlhLWtleQ==',
          mediaKeyTimestamp: 1700000000,
          directPath: '/v/t62.7118-24/secret-path',
          fileEncSha256: 'ZW5jLWhhc2g=',
          fileSha256: 'cGxhaW4taGFzaA==',
        },
        base64: 'aGVsbG8=',
      }),
    })
    .execute();
  const res = await list('?chatId=chat-k');
  expect(res.statusCode).toBe(200);
  const [item] = res.json().items;
  expect(item.mediaMetadata.size).toBe(1234);
  expect(item.mediaMetadata.key.fileSha256).toBe('cGxhaW4taGFzaA==');
  for (const secret of [
    'c2VjcmV0LW1lZGlhLWtleQ==',
    'secret-path',
    'ZW5jLWhhc2g=',
    'aGVsbG8=',
    'mediaKey',
    'directPath',
  ])
    expect(res.body).not.toContain(secret);
});
