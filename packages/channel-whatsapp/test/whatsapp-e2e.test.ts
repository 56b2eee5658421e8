import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  chatId,
  DedupeWriter,
  HistoryIngestor,
  type IngestResult,
  instanceId,
  LidMappingStore,
} from '@omni/sync-core';
import { type FakeWhatsAppScenario, generateTextHistory, waMessages } from '@omni/testkit/whatsapp';
import type { WhatsAppPluginOptions } from '../src/whatsapp-plugin-options.ts';
import { harness } from './helpers.ts';

const NOW = 1_760_000_000;
const DAY = 86_400;
const ME = { id: '15559990000@s.whatsapp.net', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const BOB_PN = '15550002222@s.whatsapp.net';
const BOB_LID = '222000@lid';
const CAROL_PN = '15550003333@s.whatsapp.net';
const CAROL_LID = '333000@lid';
const DAVE_PN = '15550004444@s.whatsapp.net';
const DAVE_LID = '444000@lid';

describe('end to end on Postgres: plugin → HistoryIngestor / DedupeWriter', () => {
  let t: TestDb;
  let n = 0;
  const newInstance = async () => {
    n += 1;
    const row = await t.db
      .insertInto('instances')
      .values({ name: `wa-e2e-${n}`, channel: 'whatsapp-baileys' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return instanceId(row.id);
  };
  const count = async (instance: string, chat?: string) => {
    let q = t.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('instance_id', '=', instance);
    if (chat) q = q.where('chat_external_id', '=', chat);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };

  beforeAll(async () => {
    t = await createTestDb('postgres');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  /** A harness whose history handler is the real ingestor on its own instance row. */
  async function setup(scenario: FakeWhatsAppScenario, options: Partial<WhatsAppPluginOptions> = {}) {
    const id = await newInstance();
    const writer = new DedupeWriter(t.db);
    const ingestor = new HistoryIngestor(t.db, writer);
    const h = harness(scenario, options);
    const results: IngestResult[] = [];
    h.plugin.setHistoryHandler(async (batch) => {
      results.push(await ingestor.ingest({ ...batch, instanceId: id }));
    });
    const ctx = { ...h.ctx, instance: { ...h.ctx.instance, id } };
    return { h, id, writer, results, ctx };
  }

  test('pushed chunks repeated → every message stored once; LID and phone chat stored as one chat', async () => {
    const lidMessages = generateTextHistory({
      chat: BOB_LID,
      count: 40,
      newest: NOW,
      spacing: 60,
      idPrefix: 'BL',
    });
    const pnMessages = generateTextHistory({
      chat: BOB_PN,
      count: 30,
      newest: NOW - DAY,
      spacing: 60,
      idPrefix: 'BP',
    });
    const alice = generateTextHistory({ chat: ALICE, count: 130, newest: NOW, spacing: 300, idPrefix: 'AL' });
    const { h, id, results } = await setup({
      me: ME,
      chats: [
        { jid: BOB_LID, messages: lidMessages },
        { jid: BOB_PN, messages: pnMessages },
        { jid: ALICE, name: 'Alice', messages: alice },
      ],
      lidPnMappings: [{ lid: BOB_LID, pn: BOB_PN }],
      chunkSize: 25,
      pushRepeats: 3,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect(await count(id)).toBe(200);
    expect(await count(id, BOB_PN)).toBe(70);
    expect(await count(id, BOB_LID)).toBe(0);
    const stored = results.reduce((s, r) => s + r.messages.stored, 0);
    const duplicates = results.reduce((s, r) => s + r.messages.duplicates, 0);
    expect(stored).toBe(200);
    expect(duplicates).toBe(400);
    const chats = await t.db
      .selectFrom('chats')
      .select(['external_id', 'alt_external_id', 'name'])
      .where('instance_id', '=', id)
      .orderBy('external_id')
      .execute();
    expect(chats).toEqual([
      { external_id: ALICE, alt_external_id: null, name: 'Alice' },
      { external_id: BOB_PN, alt_external_id: BOB_LID, name: null },
    ]);
    const bob = await t.db
      .selectFrom('contacts')
      .selectAll()
      .where('instance_id', '=', id)
      .where('external_id', '=', BOB_PN)
      .executeTakeFirst();
    expect(bob).toMatchObject({ lid: BOB_LID, phone_number: '+15550002222' });
    await h.plugin.close();
  });

  test('paging to 30 days: pushed + paged history stored exactly once, nothing outside the range', async () => {
    const phone = generateTextHistory({
      chat: ALICE,
      count: 500,
      newest: NOW - 30,
      spacing: 7_200,
      idPrefix: 'P',
    });
    const { h, id, writer, ctx } = await setup({
      me: ME,
      chats: [{ jid: ALICE, messages: phone }],
      bootstrapSince: NOW - 2 * DAY,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const anchorRow = await t.db
      .selectFrom('messages')
      .select(['external_id', 'sent_at', 'sender_id', 'raw'])
      .where('instance_id', '=', id)
      .where('chat_external_id', '=', ALICE)
      .orderBy('sent_at', 'asc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const since = (NOW - 30 * DAY) * 1000;
    const pushedCount = await count(id, ALICE);
    expect(pushedCount).toBeGreaterThan(0);
    let fetched = 0;
    let lastHasMore = true;
    const pluginCtx = { ...ctx, instance: { ...ctx.instance, id: h.id } };
    for await (const batch of h.plugin.fetchHistory(pluginCtx, {
      chatId: chatId(ALICE),
      since,
      until: NOW * 1000,
      cursor: null,
      anchor: {
        externalId: anchorRow.external_id,
        timestamp: new Date(anchorRow.sent_at).getTime(),
        senderId: anchorRow.sender_id,
        raw: anchorRow.raw as never,
      },
    })) {
      const r = await writer.writeBatch({ instanceId: id, messages: batch.messages });
      fetched += r.fetched;
      lastHasMore = batch.hasMore;
    }
    expect(lastHasMore).toBe(false);
    const expected = phone.filter((m) => Number(m.messageTimestamp) * 1000 >= since).length;
    expect(await count(id, ALICE)).toBe(expected);
    const oldest = await t.db
      .selectFrom('messages')
      .select((eb) => eb.fn.min('sent_at').as('oldest'))
      .where('instance_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(new Date(oldest.oldest as Date).getTime()).toBeGreaterThanOrEqual(since);
    expect(fetched).toBe(expected - pushedCount);
    await h.plugin.close();
  });

  test('edits and revokes from history are applied to their targets', async () => {
    const e = (id: string, ts: number) => ({ id, chat: ALICE, timestamp: ts, fromMe: true });
    const { h, id } = await setup({
      me: ME,
      chats: [
        {
          jid: ALICE,
          messages: [
            waMessages.text(e('O1', NOW - 50), 'helo'),
            waMessages.text(e('O2', NOW - 40), 'secret'),
            waMessages.edit(e('E1', NOW - 30), { id: 'O1', chat: ALICE, fromMe: true }, 'hello', true),
            waMessages.revoke(e('R1', NOW - 20), { id: 'O2', chat: ALICE, fromMe: true }),
          ],
        },
      ],
      chunkSize: 1,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const rows = await t.db
      .selectFrom('messages')
      .select(['external_id', 'text', 'edited_at', 'deleted_at', 'kind', 'target_external_id'])
      .where('instance_id', '=', id)
      .orderBy('external_id')
      .execute();
    const byId = new Map(rows.map((r) => [r.external_id, r]));
    expect(byId.get('O1')).toMatchObject({ text: 'hello' });
    expect(byId.get('O1')?.edited_at).not.toBeNull();
    expect(byId.get('O2')?.deleted_at).not.toBeNull();
    expect(byId.get('O1')?.deleted_at).toBeNull();
    expect(byId.get('E1')).toMatchObject({ kind: 'edit', target_external_id: 'O1' });
    expect(byId.get('R1')).toMatchObject({ kind: 'revoke', target_external_id: 'O2' });
    await h.plugin.close();
  });

  test('LID ↔ phone pairs from history chunks and lid-mapping.update land in lid_mappings once, updated when they change', async () => {
    const lids = async (instance: string) =>
      t.db
        .selectFrom('lid_mappings')
        .select(['lid', 'pn'])
        .where('instance_id', '=', instance)
        .orderBy('lid')
        .execute();
    const { h, id, results } = await setup({
      me: ME,
      chats: [
        {
          jid: BOB_LID,
          messages: generateTextHistory({
            chat: BOB_LID,
            count: 30,
            newest: NOW,
            spacing: 60,
            idPrefix: 'L',
          }),
        },
        {
          jid: CAROL_LID,
          altJid: CAROL_PN,
          messages: generateTextHistory({
            chat: CAROL_LID,
            count: 30,
            newest: NOW,
            spacing: 60,
            idPrefix: 'C',
          }),
        },
      ],
      lidPnMappings: [
        { lid: BOB_LID, pn: BOB_PN },
        { lid: BOB_LID, pn: BOB_PN },
      ],
      chunkSize: 20,
      pushRepeats: 3,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect(await lids(id)).toEqual([
      { lid: BOB_LID, pn: BOB_PN },
      { lid: CAROL_LID, pn: CAROL_PN },
    ]);
    const created = results.reduce((n, r) => n + r.lidMappings.created, 0);
    const updated = results.reduce((n, r) => n + r.lidMappings.updated, 0);
    expect({ created, updated }).toEqual({ created: 2, updated: 0 });

    h.fake.last?.emitLidMapping(DAVE_LID, DAVE_PN);
    h.fake.last?.emitLidMapping(BOB_LID, '15550009999@s.whatsapp.net');
    h.fake.last?.emitLidMapping(DAVE_LID, DAVE_PN);
    await h.plugin.flush(h.id);
    expect(await lids(id)).toEqual([
      { lid: BOB_LID, pn: '15550009999@s.whatsapp.net' },
      { lid: CAROL_LID, pn: CAROL_PN },
      { lid: DAVE_LID, pn: DAVE_PN },
    ]);
    const last = results.at(-1);
    expect(last?.lidMappings).toEqual({ created: 1, updated: 1 });
    expect(last?.messages.fetched).toBe(0);
    await h.plugin.close();
  });

  test('a session opened elsewhere starts from the stored pairs: a LID chat is keyed by its phone JID', async () => {
    const store = new LidMappingStore(t.db);
    let dbId = '';
    const { h, id, results } = await setup(
      {
        me: ME,
        chats: [
          {
            jid: BOB_LID,
            messages: generateTextHistory({
              chat: BOB_LID,
              count: 5,
              newest: NOW,
              spacing: 60,
              idPrefix: 'S',
            }),
          },
        ],
      },
      { storedLidMappings: () => store.list(dbId) },
    );
    dbId = id;
    await store.upsert(id, [{ lid: BOB_LID, pn: BOB_PN }]);
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect(await count(id, BOB_PN)).toBe(5);
    expect(await count(id, BOB_LID)).toBe(0);
    expect(results.every((r) => r.lidMappings.created + r.lidMappings.updated === 0)).toBe(true);
    await h.plugin.close();
  });
});
