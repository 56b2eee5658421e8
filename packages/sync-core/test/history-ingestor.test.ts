import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import {
  chatId,
  DedupeWriter,
  DirectoryWriter,
  externalUserId,
  HistoryIngestor,
  type InsertedMessage,
  instanceId,
  type PushedHistory,
} from '../src/index.ts';
import { at, msg } from './support/messages.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`HistoryIngestor and DirectoryWriter on ${engine}`, () => {
    let t: TestDb;
    const newInstance = () => createInstance(t, 'whatsapp-baileys');
    beforeAll(async () => {
      t = await testDb(engine);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('a pushed chunk is stored once; a repeated chunk stores nothing new', async () => {
      const inst = await newInstance();
      const seen: InsertedMessage[] = [];
      const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db), {
        onInserted: (_id, rows) => {
          seen.push(...rows);
        },
      });
      const chunk: PushedHistory = {
        instanceId: instanceId(inst),
        syncType: 'INITIAL_BOOTSTRAP',
        messages: [
          msg('g1@g.us', 'a', at(1)),
          msg('g1@g.us', 'b', at(3)),
          msg('p1@s.whatsapp.net', 'c', at(2)),
        ],
        chats: [
          { id: chatId('g1@g.us'), name: 'Group one', kind: 'group', readable: true, metadata: { x: 1 } },
        ],
        contacts: [
          { externalId: externalUserId('p1@s.whatsapp.net'), name: 'Pat', phoneNumber: '+123', metadata: {} },
        ],
      };
      const first = await ingestor.ingest(chunk);
      expect(first.messages).toMatchObject({ fetched: 3, stored: 3, duplicates: 0 });
      expect(first.chats).toEqual({ created: 2, updated: 0 });
      expect(first.contacts).toEqual({ created: 1, updated: 0 });
      expect(seen).toHaveLength(3);
      const again = await ingestor.ingest({
        ...chunk,
        contacts: [
          { externalId: externalUserId('p1@s.whatsapp.net'), name: null, pushName: 'P', metadata: {} },
        ],
      });
      expect(again.messages).toMatchObject({ fetched: 3, stored: 0, duplicates: 3 });
      expect(again.chats).toEqual({ created: 0, updated: 2 });
      expect(seen).toHaveLength(3);
      const chats = await t.db
        .selectFrom('chats')
        .selectAll()
        .where('instance_id', '=', inst)
        .orderBy('external_id')
        .execute();
      expect(chats.map((c) => [c.external_id, c.name, c.last_message_at?.toISOString()])).toEqual([
        ['g1@g.us', 'Group one', new Date(at(3)).toISOString()],
        ['p1@s.whatsapp.net', null, new Date(at(2)).toISOString()],
      ]);
      const contact = await t.db
        .selectFrom('contacts')
        .selectAll()
        .where('instance_id', '=', inst)
        .executeTakeFirstOrThrow();
      expect(contact).toMatchObject({ name: 'Pat', push_name: 'P', phone_number: '+123', is_present: true });
      const sources = await t.db
        .selectFrom('messages')
        .select('source')
        .where('instance_id', '=', inst)
        .execute();
      expect(sources.every((s) => s.source === 'sync')).toBe(true);
    });

    test('LID ↔ phone pairs of a chunk land in lid_mappings once; a changed phone number is updated', async () => {
      const inst = await newInstance();
      const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
      const chunk: PushedHistory = {
        instanceId: instanceId(inst),
        syncType: 'INITIAL_BOOTSTRAP',
        messages: [msg('15550002222@s.whatsapp.net', 'm1', at(1))],
        chats: [],
        contacts: [],
        lidMappings: [
          { lid: '222000@lid', pn: '15550002222@s.whatsapp.net' },
          { lid: '333000@lid', pn: '15550003333@s.whatsapp.net' },
        ],
      };
      expect((await ingestor.ingest(chunk)).lidMappings).toEqual({ created: 2, updated: 0 });
      expect((await ingestor.ingest(chunk)).lidMappings).toEqual({ created: 0, updated: 0 });
      const onlyPairs = await ingestor.ingest({
        instanceId: instanceId(inst),
        syncType: 'LID_MAPPING',
        messages: [],
        chats: [],
        contacts: [],
        lidMappings: [{ lid: '333000@lid', pn: '15550004444@s.whatsapp.net' }],
      });
      expect(onlyPairs.lidMappings).toEqual({ created: 0, updated: 1 });
      expect(onlyPairs.messages).toMatchObject({ fetched: 0, stored: 0 });
      const rows = await t.db
        .selectFrom('lid_mappings')
        .select(['lid', 'pn'])
        .where('instance_id', '=', inst)
        .orderBy('lid')
        .execute();
      expect(rows).toEqual([
        { lid: '222000@lid', pn: '15550002222@s.whatsapp.net' },
        { lid: '333000@lid', pn: '15550004444@s.whatsapp.net' },
      ]);
    });

    test('one statement (the common chunk) stores the same rows and counts as the transaction', async () => {
      const image = {
        kind: 'image',
        media: [{ kind: 'image', mimeType: 'image/jpeg', url: 'https://x/1.jpg' }],
      } as unknown as Partial<ReturnType<typeof msg>>;
      const first = (inst: string): PushedHistory => ({
        instanceId: instanceId(inst),
        syncType: 'INITIAL_BOOTSTRAP',
        messages: [
          msg('g1@g.us', 'a', at(1)),
          msg('g1@g.us', 'b', at(5), image),
          msg('p1@s.whatsapp.net', 'c', at(2)),
          msg('p1@s.whatsapp.net', 'r', at(3), { kind: 'reaction', targetId: 'c' } as Partial<
            ReturnType<typeof msg>
          >),
          msg('p1@s.whatsapp.net', 'c', at(2)),
        ],
        chats: [
          { id: chatId('g1@g.us'), name: 'Group one', kind: 'group', readable: true, metadata: { x: 1 } },
          { id: chatId('quiet@s.whatsapp.net'), name: 'Quiet', kind: 'dm', readable: true },
        ],
        contacts: [
          { externalId: externalUserId('p1@s.whatsapp.net'), name: 'Pat', phoneNumber: '+123', metadata: {} },
        ],
        lidMappings: [{ lid: '111@lid', pn: 'p1@s.whatsapp.net' }],
      });
      const second = (inst: string): PushedHistory => ({
        instanceId: instanceId(inst),
        syncType: 'RECENT',
        messages: [
          msg('g1@g.us', 'b', at(5), image),
          msg('g1@g.us', 'd', at(9)),
          msg('p2@s.whatsapp.net', 'e', at(4)),
        ],
        chats: [{ id: chatId('g1@g.us'), name: null, kind: 'group', readable: true, metadata: { y: 2 } }],
        contacts: [
          { externalId: externalUserId('p1@s.whatsapp.net'), name: null, pushName: 'P', metadata: {} },
          { externalId: externalUserId('p2@s.whatsapp.net'), name: 'Sam', metadata: {} },
        ],
        lidMappings: [
          { lid: '111@lid', pn: 'p9@s.whatsapp.net' },
          { lid: '222@lid', pn: 'p2@s.whatsapp.net' },
        ],
      });
      const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
      const oneStatement = await newInstance();
      const transaction = await newInstance();
      const snapshot = async (inst: string) => ({
        messages: await t.db
          .selectFrom('messages')
          .select([
            'chat_external_id',
            'external_id',
            'kind',
            'text',
            'has_media',
            'media_url',
            'source',
            'raw',
          ])
          .where('instance_id', '=', inst)
          .orderBy('chat_external_id')
          .orderBy('external_id')
          .execute(),
        chats: (
          await t.db
            .selectFrom('chats')
            .select([
              'external_id',
              'name',
              'kind',
              'metadata',
              'last_message_at',
              'message_count',
              'media_count',
            ])
            .where('instance_id', '=', inst)
            .orderBy('external_id')
            .execute()
        ).map((c) => ({ ...c, last_message_at: c.last_message_at?.toISOString() ?? null })),
        contacts: await t.db
          .selectFrom('contacts')
          .select(['external_id', 'name', 'push_name', 'phone_number', 'is_present'])
          .where('instance_id', '=', inst)
          .orderBy('external_id')
          .execute(),
        lids: await t.db
          .selectFrom('lid_mappings')
          .select(['lid', 'pn'])
          .where('instance_id', '=', inst)
          .orderBy('lid')
          .execute(),
      });
      for (const chunk of [first, second]) {
        expect(ingestor.storesInOneStatement(chunk(oneStatement))).toBe(true);
        const fast = await ingestor.ingestInOneStatement(chunk(oneStatement));
        // A claim that always answers yes: today's transaction.
        const slow = await ingestor.ingest(chunk(transaction), async () => true);
        expect(fast.result).toEqual(slow as NonNullable<typeof slow>);
        expect(await snapshot(oneStatement)).toEqual(await snapshot(transaction));
      }
      const [firstFast, secondFast] = [
        await ingestor.ingestInOneStatement(first(oneStatement)),
        await ingestor.ingestInOneStatement(second(oneStatement)),
      ];
      expect(firstFast.result.messages).toMatchObject({ fetched: 5, stored: 0, duplicates: 5 });
      expect(secondFast.result.messages).toMatchObject({ fetched: 3, stored: 0, duplicates: 3 });
      const after = await snapshot(oneStatement);
      expect(
        after.chats.map((c) => [
          c.external_id,
          c.name,
          Number(c.message_count),
          Number(c.media_count),
          c.last_message_at,
        ]),
      ).toEqual([
        ['g1@g.us', 'Group one', 3, 1, new Date(at(9)).toISOString()],
        ['p1@s.whatsapp.net', null, 1, 0, new Date(at(3)).toISOString()],
        ['p2@s.whatsapp.net', null, 1, 0, new Date(at(4)).toISOString()],
        ['quiet@s.whatsapp.net', 'Quiet', 0, 0, null],
      ]);
      expect(after.lids).toEqual([
        { lid: '111@lid', pn: 'p9@s.whatsapp.net' },
        { lid: '222@lid', pn: 'p2@s.whatsapp.net' },
      ]);
    });

    test('edits, revokes and live chunks extending coverage keep the transaction', async () => {
      const inst = instanceId(await newInstance());
      const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
      const base: PushedHistory = {
        instanceId: inst,
        syncType: 'RECENT',
        messages: [],
        chats: [],
        contacts: [],
      };
      const edit = msg('c@s.whatsapp.net', 'e1', at(2), {
        kind: 'edit',
        targetId: 'm1',
        text: 'new',
      } as Partial<ReturnType<typeof msg>>);
      expect(
        ingestor.storesInOneStatement({ ...base, messages: [msg('c@s.whatsapp.net', 'm1', at(1)), edit] }),
      ).toBe(false);
      expect(ingestor.storesInOneStatement({ ...base, syncType: 'LIVE', liveSince: at(0) })).toBe(false);
      expect(ingestor.storesInOneStatement({ ...base, syncType: 'LIVE' })).toBe(true);
      await expect(ingestor.ingestInOneStatement({ ...base, messages: [edit] })).rejects.toThrow();
      const r = await ingestor.ingest({ ...base, messages: [msg('c@s.whatsapp.net', 'm1', at(1)), edit] });
      expect(r.messages).toMatchObject({ stored: 2, updated: 1 });
    });

    test('a refresh marks contacts, groups and participants not seen as absent', async () => {
      const inst = await newInstance();
      const dir = new DirectoryWriter();
      const t1 = new Date('2026-01-01T00:00:00Z');
      const t2 = new Date('2026-01-02T00:00:00Z');
      const contact = (id: string) => ({ externalId: externalUserId(id), name: id, metadata: {} });
      await dir.upsertContacts(t.db, inst, [contact('a'), contact('b')], t1);
      await dir.upsertGroups(
        t.db,
        inst,
        [
          {
            externalId: 'g1',
            name: 'G1',
            description: null,
            memberCount: 2,
            participants: [
              { id: 'a', role: 'admin' },
              { id: 'b', role: 'member' },
            ],
            metadata: {},
          },
          { externalId: 'g2', name: 'G2', description: null, memberCount: null, metadata: {} },
        ],
        t1,
      );
      const c2 = await dir.upsertContacts(t.db, inst, [contact('a')], t2);
      expect(c2).toEqual({ created: 0, updated: 1 });
      expect(await dir.markAbsentContacts(t.db, inst, t2)).toBe(1);
      const g2 = await dir.upsertGroups(
        t.db,
        inst,
        [
          {
            externalId: 'g1',
            name: null,
            description: 'd',
            memberCount: 1,
            participants: [{ id: 'a', role: 'owner' }],
            metadata: {},
          },
        ],
        t2,
      );
      expect(g2).toEqual({ created: 0, updated: 1, participants: 1 });
      expect(await dir.markAbsentGroups(t.db, inst, t2)).toBe(1);
      const contacts = await t.db
        .selectFrom('contacts')
        .select(['external_id', 'is_present'])
        .where('instance_id', '=', inst)
        .orderBy('external_id')
        .execute();
      expect(contacts).toEqual([
        { external_id: 'a', is_present: true },
        { external_id: 'b', is_present: false },
      ]);
      const groups = await t.db
        .selectFrom('omni_groups')
        .selectAll()
        .where('instance_id', '=', inst)
        .orderBy('external_id')
        .execute();
      expect(groups.map((g) => [g.external_id, g.name, g.description, g.is_present])).toEqual([
        ['g1', 'G1', 'd', true],
        ['g2', 'G2', null, false],
      ]);
      const parts = await t.db
        .selectFrom('group_participants')
        .select(['participant_id', 'role', 'is_present'])
        .where('instance_id', '=', inst)
        .orderBy('participant_id')
        .execute();
      expect(parts).toEqual([
        { participant_id: 'a', role: 'owner', is_present: true },
        { participant_id: 'b', role: 'member', is_present: false },
      ]);
    });
  });
}
