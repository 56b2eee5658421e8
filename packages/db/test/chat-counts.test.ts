import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTestDb, TEST_ENGINES, type TestDb } from '../src/testing.ts';

for (const engine of TEST_ENGINES) {
  describe(`chat entity counts on ${engine}`, () => {
    let t: TestDb;
    let instanceId: string;
    beforeAll(async () => {
      t = await createTestDb(engine);
      const row = await t.db
        .insertInto('instances')
        .values({ name: `counts-${engine}`, channel: 'discord' })
        .returning('id')
        .executeTakeFirstOrThrow();
      instanceId = row.id;
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    const message = (chat: string, id: string, at: string, extra: Record<string, unknown> = {}) => ({
      instance_id: instanceId,
      chat_external_id: chat,
      external_id: id,
      sent_at: new Date(at),
      kind: 'text',
      text: id,
      ...extra,
    });

    test('inserting messages creates the chat and counts messages, media and the newest time', async () => {
      await t.db
        .insertInto('messages')
        .values([
          message('c1', 'm1', '2026-01-01T00:00:00Z'),
          message('c1', 'm2', '2026-01-03T00:00:00Z', { kind: 'image', has_media: true }),
          message('c1', 'e1', '2026-01-04T00:00:00Z', { kind: 'edit' }),
          message('c2', 'm3', '2026-01-02T00:00:00Z'),
        ])
        .execute();
      await t.db
        .insertInto('messages')
        .values(message('c1', 'm1', '2026-01-01T00:00:00Z'))
        .onConflict((oc) => oc.doNothing())
        .execute();
      await t.db
        .insertInto('messages')
        .values(message('c1', 'm0', '2025-12-31T00:00:00Z'))
        .execute();
      const chats = await t.db
        .selectFrom('chats')
        .select(['external_id', 'message_count', 'media_count', 'last_message_at'])
        .where('instance_id', '=', instanceId)
        .orderBy('external_id')
        .execute();
      expect(chats.map((c) => [c.external_id, Number(c.message_count), Number(c.media_count)])).toEqual([
        ['c1', 3, 1],
        ['c2', 1, 0],
      ]);
      expect(chats[0]?.last_message_at?.toISOString()).toBe('2026-01-04T00:00:00.000Z');
    });

    test('a listed chat keeps its name and kind when its messages arrive', async () => {
      await t.db
        .insertInto('chats')
        .values({ instance_id: instanceId, external_id: 'c3', name: 'general', kind: 'channel' })
        .execute();
      await t.db
        .insertInto('messages')
        .values(message('c3', 'm9', '2026-02-01T00:00:00Z'))
        .execute();
      const chat = await t.db
        .selectFrom('chats')
        .select(['name', 'kind', 'message_count'])
        .where('instance_id', '=', instanceId)
        .where('external_id', '=', 'c3')
        .executeTakeFirstOrThrow();
      expect([chat.name, chat.kind, Number(chat.message_count)]).toEqual(['general', 'channel', 1]);
    });
  });
}
