import { describe, expect, test } from 'bun:test';
import { chatId, instanceId, isSyncError, type NormalizedMessage, TransientError } from '@omni/sync-core';
import {
  encodeHistorySync,
  type FakeWhatsAppScenario,
  generateTextHistory,
  historySetEventFromBytes,
  waMessages,
} from '@omni/testkit/whatsapp';
import { proto } from '@whiskeysockets/baileys';
import { parseHistoryCursor } from '../src/history/history-cursor.ts';
import { collect, harness } from './helpers.ts';

const NOW = 1_760_000_000;
const DAY = 86_400;
const ME = { id: '15559990000:3@s.whatsapp.net', lid: '90000@lid', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const BOB_PN = '15550002222@s.whatsapp.net';
const BOB_LID = '222000@lid';

/** 400 messages every 2 h: ~33 days of history for Alice. */
const aliceHistory = () =>
  generateTextHistory({ chat: ALICE, count: 400, newest: NOW - 60, spacing: 7_200, idPrefix: 'AL' });

function ids(messages: NormalizedMessage[]): string[] {
  return messages.map((m) => m.externalId).sort();
}

describe('pushed history', () => {
  test('bootstrap chunks are normalized and handed over in order, FULL kept, creds saved', async () => {
    const scenario: FakeWhatsAppScenario = {
      me: ME,
      chats: [{ jid: ALICE, name: 'Alice', messages: aliceHistory() }],
      bootstrapSince: NOW - 3 * DAY,
      fullSince: NOW - 5 * DAY,
      chunkSize: 10,
      pushNames: [{ id: ALICE, pushname: 'Ally' }],
    };
    const h = harness(scenario);
    const state = await h.plugin.connect(h.id);
    expect(state.status).toBe('open');
    await h.plugin.flush(h.id);
    const bootstrap = h.pushed.filter((b) => b.syncType === 'INITIAL_BOOTSTRAP');
    const expected = aliceHistory().filter((m) => Number(m.messageTimestamp) >= NOW - 3 * DAY);
    expect(bootstrap.length).toBe(Math.ceil(expected.length / 10));
    expect(bootstrap.flatMap((b) => b.messages).length).toBe(expected.length);
    const full = h.pushed.filter((b) => b.syncType === 'FULL');
    const expectedFull = aliceHistory().filter((m) => {
      const t = Number(m.messageTimestamp);
      return t < NOW - 3 * DAY && t >= NOW - 5 * DAY;
    });
    expect(expectedFull.length).toBeGreaterThan(0);
    expect(full.flatMap((b) => b.messages).length).toBe(expectedFull.length);
    expect(full.at(-1)?.isLatest).toBe(true);
    expect(full.at(-1)?.progress).toBe(100);
    expect(bootstrap[0]?.chats[0]).toMatchObject({ id: ALICE, name: 'Alice', kind: 'dm' });
    const pushNames = h.pushed.find((b) => b.syncType === 'PUSH_NAME');
    expect(pushNames?.contacts).toEqual([
      expect.objectContaining({ externalId: ALICE, pushName: 'Ally', phoneNumber: '+15550001111' }),
    ]);
    expect(h.store.keys(h.id)).toContain('creds');
    const own = bootstrap
      .flatMap((b) => b.messages)
      .find((m) => m.raw && (m.raw as { key: { fromMe: boolean } }).key.fromMe);
    expect(String(own?.senderId)).toBe('15559990000@s.whatsapp.net');
    await h.plugin.close();
  });

  test('messages arriving while connected are pushed as LIVE (unless turned off)', async () => {
    for (const pushLiveMessages of [true, false]) {
      const h = harness(
        { me: ME, chats: [{ jid: BOB_LID, messages: [] }], lidPnMappings: [{ lid: BOB_LID, pn: BOB_PN }] },
        { pushLiveMessages },
      );
      await h.plugin.connect(h.id);
      h.fake.last?.emitLiveMessages([
        waMessages.text({ id: 'LIVE1', chat: BOB_LID, timestamp: NOW, pushName: 'Bob' }, 'hi now'),
      ]);
      await h.plugin.flush(h.id);
      const live = h.pushed.filter((b) => b.syncType === 'LIVE');
      if (pushLiveMessages) {
        expect(live.flatMap((b) => b.messages)).toEqual([
          expect.objectContaining({
            externalId: 'LIVE1',
            chatId: BOB_PN,
            senderId: BOB_PN,
            text: 'hi now',
            senderName: 'Bob',
          }),
        ]);
      } else {
        expect(live).toEqual([]);
      }
      await h.plugin.close();
    }
  });

  test('repeated chunks carry identical messages (the database dedupes them)', async () => {
    const h = harness({
      me: ME,
      chats: [{ jid: ALICE, messages: aliceHistory().slice(0, 30) }],
      pushRepeats: 2,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const all = h.pushed.flatMap((b) => b.messages);
    expect(all.length).toBe(60);
    expect(new Set(all.map((m) => `${m.chatId}/${m.externalId}`)).size).toBe(30);
    await h.plugin.close();
  });

  test('a chat seen under its LID and its phone JID is one chat', async () => {
    const lidMessages = generateTextHistory({
      chat: BOB_LID,
      count: 5,
      newest: NOW - 100,
      spacing: 60,
      idPrefix: 'BL',
    });
    const pnMessages = generateTextHistory({
      chat: BOB_PN,
      count: 5,
      newest: NOW - 10 * DAY,
      spacing: 60,
      idPrefix: 'BP',
    });
    const h = harness({
      me: ME,
      chats: [
        { jid: BOB_LID, messages: lidMessages },
        { jid: BOB_PN, messages: pnMessages },
      ],
      lidPnMappings: [
        { lid: BOB_LID, pn: BOB_PN },
        { lid: BOB_LID, pn: BOB_PN },
      ],
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const messages = h.pushed.flatMap((b) => b.messages);
    expect(messages.length).toBe(10);
    expect(new Set(messages.map((m) => String(m.chatId)))).toEqual(new Set([BOB_PN]));
    expect(
      new Set(
        messages
          .filter((m) => !(m.raw as { key: { fromMe: boolean } }).key.fromMe)
          .map((m) => String(m.senderId)),
      ),
    ).toEqual(new Set([BOB_PN]));
    const listing = await h.plugin.listChats(h.ctx);
    expect(listing.chats).toHaveLength(1);
    expect(listing.chats[0]).toMatchObject({ id: BOB_PN, altId: BOB_LID });
    expect(h.pushed.find((b) => b.syncType !== 'LID_MAPPING')?.contacts).toContainEqual(
      expect.objectContaining({ externalId: BOB_PN, lid: BOB_LID }),
    );
    await h.plugin.close();
  });

  test("pairs only Baileys' LID store knows are looked up, so the chats still merge", async () => {
    const h = harness({
      me: ME,
      chats: [
        {
          jid: BOB_LID,
          messages: generateTextHistory({ chat: BOB_LID, count: 3, newest: NOW, spacing: 60, idPrefix: 'S' }),
        },
        {
          jid: BOB_PN,
          messages: generateTextHistory({
            chat: BOB_PN,
            count: 3,
            newest: NOW - DAY,
            spacing: 60,
            idPrefix: 'T',
          }),
        },
      ],
      storedLidPnMappings: [{ lid: BOB_LID, pn: BOB_PN }],
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect(new Set(h.pushed.flatMap((b) => b.messages).map((m) => String(m.chatId)))).toEqual(
      new Set([BOB_PN]),
    );
    expect((await h.plugin.listChats(h.ctx)).chats.map((c) => [c.id, c.altId])).toEqual([[BOB_PN, BOB_LID]]);
    await h.plugin.close();
  });

  test('a mapping learnt later (lid-mapping.update) merges the chats', async () => {
    const h = harness({
      me: ME,
      chats: [
        {
          jid: BOB_LID,
          messages: generateTextHistory({ chat: BOB_LID, count: 3, newest: NOW, spacing: 60, idPrefix: 'X' }),
        },
        {
          jid: BOB_PN,
          messages: generateTextHistory({
            chat: BOB_PN,
            count: 3,
            newest: NOW - DAY,
            spacing: 60,
            idPrefix: 'Y',
          }),
        },
      ],
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect((await h.plugin.listChats(h.ctx)).chats).toHaveLength(2);
    h.fake.last?.emitLidMapping(BOB_LID, BOB_PN);
    const chats = (await h.plugin.listChats(h.ctx)).chats;
    expect(chats).toHaveLength(1);
    expect(chats[0]).toMatchObject({ id: BOB_PN, altId: BOB_LID });
    expect([...((chats[0]?.metadata?.jids as string[] | undefined) ?? [])].sort()).toEqual(
      [BOB_PN, BOB_LID].sort(),
    );
    await h.plugin.close();
  });

  test('edits, revokes and reactions arrive as their own messages pointing at the target', async () => {
    const e = (id: string, t: number) => ({ id, chat: ALICE, timestamp: t, fromMe: true });
    const h = harness({
      me: ME,
      chats: [
        {
          jid: ALICE,
          messages: [
            waMessages.text(e('ORIG1', NOW - 50), 'helo'),
            waMessages.text(e('ORIG2', NOW - 40), 'oops'),
            waMessages.edit(e('EDIT1', NOW - 30), { id: 'ORIG1', chat: ALICE, fromMe: true }, 'hello', true),
            waMessages.revoke(e('REV1', NOW - 20), { id: 'ORIG2', chat: ALICE, fromMe: true }),
            waMessages.reaction(
              { id: 'REACT1', chat: ALICE, timestamp: NOW - 10 },
              { id: 'ORIG1', chat: ALICE, fromMe: true },
              '❤️',
            ),
          ],
        },
      ],
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const byId = new Map(h.pushed.flatMap((b) => b.messages).map((m) => [String(m.externalId), m]));
    expect(byId.get('EDIT1')).toMatchObject({ kind: 'edit', targetId: 'ORIG1', text: 'hello' });
    expect(byId.get('REV1')).toMatchObject({ kind: 'revoke', targetId: 'ORIG2' });
    expect(byId.get('REACT1')).toMatchObject({ kind: 'reaction', targetId: 'ORIG1', text: '❤️' });
    await h.plugin.close();
  });
});

describe('on-demand paging', () => {
  test('pages back to 30 days from the anchor: exactly the messages in range, each request correlated', async () => {
    const phone = aliceHistory();
    const h = harness({ me: ME, chats: [{ jid: ALICE, messages: phone }], bootstrapSince: NOW - 3 * DAY });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const pushed = h.pushed.flatMap((b) => b.messages);
    const oldest = pushed.reduce((a, b) => (a.timestamp <= b.timestamp ? a : b));
    const since = (NOW - 30 * DAY) * 1000;
    const batches = await collect(
      h.plugin.fetchHistory(h.ctx, {
        chatId: chatId(ALICE),
        since,
        until: NOW * 1000,
        cursor: null,
        anchor: {
          externalId: oldest.externalId,
          timestamp: oldest.timestamp,
          senderId: oldest.senderId,
          raw: oldest.raw,
        },
      }),
    );
    const paged = batches.flatMap((b) => b.messages);
    const expected = phone
      .filter((m) => Number(m.messageTimestamp) * 1000 >= since)
      .map((m) => String(m.key?.id));
    expect(ids([...pushed, ...paged])).toEqual(expected.sort());
    expect(new Set(ids(paged)).size).toBe(paged.length);
    expect(batches.at(-1)?.hasMore).toBe(false);
    expect(batches.some((b) => b.exhausted)).toBe(false);
    for (const b of batches) {
      const ts = b.messages.map((m) => m.timestamp);
      expect(ts).toEqual([...ts].sort((x, y) => x - y));
    }
    const requests = h.fake.last?.historyRequests ?? [];
    expect(requests.length).toBe(batches.length);
    expect(h.ctx.requests.filter((k) => k === 'messages').length).toBe(requests.length);
    expect(requests[0]).toMatchObject({
      count: 50,
      key: { id: oldest.externalId, remoteJid: ALICE },
      timestampMs: oldest.timestamp,
    });
    for (let i = 1; i < requests.length; i++) {
      expect(parseHistoryCursor(batches[i - 1]?.cursor)?.id).toBe(requests[i]?.key.id ?? '');
    }
    await h.plugin.close();
  });

  test('without an anchor it starts from the oldest pushed message; nothing older with depth all → completed, not exhausted', async () => {
    const phone = generateTextHistory({ chat: ALICE, count: 120, newest: NOW, spacing: 600, idPrefix: 'EX' });
    const h = harness({
      me: ME,
      chats: [{ jid: ALICE, messages: phone }],
      bootstrapSince: NOW - 20 * 600 + 1,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const pushed = h.pushed.flatMap((b) => b.messages);
    expect(pushed).toHaveLength(20);
    const batches = await collect(
      h.plugin.fetchHistory(h.ctx, {
        chatId: chatId(ALICE),
        since: null,
        until: NOW * 1000 + 1,
        cursor: null,
      }),
    );
    const last = batches.at(-1);
    expect(last).toMatchObject({ messages: [], hasMore: false });
    expect(last?.exhausted).toBeUndefined();
    expect(ids([...pushed, ...batches.flatMap((b) => b.messages)])).toEqual(
      phone.map((m) => String(m.key?.id)).sort(),
    );
    expect(batches.map((b) => b.messages.length)).toEqual([50, 50, 0]);
    await h.plugin.close();
  });

  test('the phone returns nothing: exhausted at once with a depth, completed with all', async () => {
    const h = harness({
      me: ME,
      chats: [{ jid: ALICE, messages: aliceHistory().slice(0, 5) }],
      phone: 'empty',
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const since = (NOW - 365 * 86_400) * 1000;
    const batches = await collect(
      h.plugin.fetchHistory(h.ctx, { chatId: chatId(ALICE), since, until: NOW * 1000, cursor: null }),
    );
    expect(batches).toEqual([expect.objectContaining({ messages: [], hasMore: false, exhausted: true })]);
    const all = await collect(
      h.plugin.fetchHistory(h.ctx, { chatId: chatId(ALICE), since: null, until: NOW * 1000, cursor: null }),
    );
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ messages: [], hasMore: false });
    expect(all[0]?.exhausted).toBeUndefined();
    await h.plugin.close();
  });

  test('a chat with no known message is asked for from the window end, not declared empty', async () => {
    const phone = generateTextHistory({ chat: ALICE, count: 30, newest: NOW, spacing: 600, idPrefix: 'NK' });
    const h = harness({ me: ME, chats: [{ jid: ALICE, messages: phone }], pushOnOpen: false });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect(h.pushed.flatMap((b) => b.messages)).toHaveLength(0);
    const until = NOW * 1000 + 1;
    const batches = await collect(
      h.plugin.fetchHistory(h.ctx, { chatId: chatId(ALICE), since: null, until, cursor: null }),
    );
    expect(ids(batches.flatMap((b) => b.messages))).toEqual(phone.map((m) => String(m.key?.id)).sort());
    const first = h.fake.last?.historyRequests[0];
    expect(first?.key.remoteJid).toBe(ALICE);
    expect(first?.timestampMs).toBe(until);
    expect(batches.at(-1)?.exhausted).toBeUndefined();
    await h.plugin.close();
  });

  test('phone offline: TransientError saying so; resuming from the last cursor completes without gaps', async () => {
    const phone = aliceHistory();
    const scenario: FakeWhatsAppScenario = {
      me: ME,
      chats: [{ jid: ALICE, messages: phone }],
      bootstrapSince: NOW - DAY,
    };
    const h = harness(scenario, { onDemandTimeoutMs: 30 });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const since = (NOW - 30 * DAY) * 1000;
    const stored: NormalizedMessage[] = h.pushed.flatMap((b) => b.messages);
    let cursor = null as import('@omni/sync-core').JsonValue | null;
    let failure: unknown = null;
    try {
      for await (const batch of h.plugin.fetchHistory(h.ctx, {
        chatId: chatId(ALICE),
        since,
        until: NOW * 1000,
        cursor: null,
      })) {
        stored.push(...batch.messages);
        cursor = batch.cursor;
        if (stored.length > 100) scenario.phone = 'offline';
      }
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(TransientError);
    expect(isSyncError(failure) && failure.details?.reason).toBe('phone_offline');
    expect(String((failure as Error).message)).toContain('offline');
    expect(cursor).not.toBeNull();
    scenario.phone = 'online';
    for await (const batch of h.plugin.fetchHistory(h.ctx, {
      chatId: chatId(ALICE),
      since,
      until: NOW * 1000,
      cursor,
    })) {
      stored.push(...batch.messages);
    }
    const expected = phone
      .filter((m) => Number(m.messageTimestamp) * 1000 >= since)
      .map((m) => String(m.key?.id));
    expect(ids(stored)).toEqual(expected.sort());
    await h.plugin.close();
  });

  test('a repeated on-demand answer is not lost nor paged twice: it goes to the push handler', async () => {
    const phone = generateTextHistory({ chat: ALICE, count: 60, newest: NOW, spacing: 60, idPrefix: 'RP' });
    const h = harness({
      me: ME,
      chats: [{ jid: ALICE, messages: phone }],
      bootstrapSince: NOW - 9 * 60,
      onDemandRepeats: 2,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    const batches = await collect(
      h.plugin.fetchHistory(h.ctx, {
        chatId: chatId(ALICE),
        since: null,
        until: NOW * 1000 + 1,
        cursor: null,
      }),
    );
    expect(batches.flatMap((b) => b.messages)).toHaveLength(50);
    await h.plugin.flush(h.id);
    const late = h.pushed.filter((b) => b.syncType === 'ON_DEMAND');
    expect(late.length).toBeGreaterThan(0);
    await h.plugin.close();
  });

  test('cancel between pages', async () => {
    const h = harness({
      me: ME,
      chats: [{ jid: ALICE, messages: aliceHistory() }],
      bootstrapSince: NOW - DAY,
    });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    let pages = 0;
    let failure: unknown = null;
    try {
      for await (const _ of h.plugin.fetchHistory(h.ctx, {
        chatId: chatId(ALICE),
        since: null,
        until: NOW * 1000,
        cursor: null,
      })) {
        pages++;
        h.ctx.abort.abort();
      }
    } catch (error) {
      failure = error;
    }
    expect(pages).toBe(1);
    expect(isSyncError(failure) && failure.code).toBe('CANCELLED');
    await h.plugin.close();
  });
});

test('proto enum names are what PushedHistory.syncType reports', () => {
  expect(proto.HistorySync.HistorySyncType[proto.HistorySync.HistorySyncType.ON_DEMAND]).toBe('ON_DEMAND');
});

test('after a restart (empty identity map) paging a LID-addressed chat stays keyed by the phone JID', async () => {
  const phone = generateTextHistory({ chat: BOB_LID, count: 80, newest: NOW, spacing: 60, idPrefix: 'RS' });
  const h = harness({ me: ME, chats: [{ jid: BOB_LID, messages: phone }], pushOnOpen: false });
  const anchor = phone[9];
  if (!anchor?.key?.id) throw new Error('no anchor');
  const batches = await collect(
    h.plugin.fetchHistory(h.ctx, {
      chatId: chatId(BOB_PN),
      since: null,
      until: NOW * 1000 + 1,
      cursor: null,
      anchor: {
        externalId: anchor.key.id,
        timestamp: Number(anchor.messageTimestamp) * 1000,
        senderId: BOB_PN,
        raw: { key: { remoteJid: BOB_LID, id: anchor.key.id, fromMe: anchor.key.fromMe ?? false } },
      },
    }),
  );
  const messages = batches.flatMap((b) => b.messages);
  expect(messages).toHaveLength(70);
  expect(new Set(messages.map((m) => String(m.chatId)))).toEqual(new Set([BOB_PN]));
  expect(batches.at(-1)?.exhausted).toBeUndefined();
  expect(h.fake.last?.historyRequests[0]?.key.remoteJid).toBe(BOB_LID);
  await h.plugin.close();
});

test('a failing history handler is retried; the chunk is handed over once it succeeds', async () => {
  const h = harness(
    { me: ME, chats: [{ jid: ALICE, messages: aliceHistory().slice(0, 3) }] },
    { pushRetryBaseMs: 1 },
  );
  let calls = 0;
  const stored: number[] = [];
  h.plugin.setHistoryHandler(async (batch) => {
    if (batch.syncType === 'LID_MAPPING') return;
    calls++;
    if (calls < 3) throw new Error('database unavailable');
    stored.push(batch.messages.length);
  });
  await h.plugin.connect(h.id);
  await h.plugin.flush(h.id);
  expect(calls).toBe(3);
  expect(stored).toEqual([3]);
  await h.plugin.close();
});

test('concurrent paging of several chats: each answer reaches its own request', async () => {
  const chats = [ALICE, BOB_PN, '15550004444@s.whatsapp.net', '120363000000000009@g.us'];
  const phones = chats.map((jid, i) =>
    generateTextHistory({
      chat: jid,
      count: 170 + i * 13,
      newest: NOW,
      spacing: 300,
      idPrefix: `C${i}_`,
      ...(jid.endsWith('@g.us') ? { participant: '15550005555@s.whatsapp.net' } : {}),
    }),
  );
  const h = harness({
    me: ME,
    chats: chats.map((jid, i) => ({ jid, messages: phones[i] ?? [] })),
    bootstrapSince: NOW - 5 * 300 + 1,
  });
  await h.plugin.connect(h.id);
  await h.plugin.flush(h.id);
  const pushed = h.pushed.flatMap((b) => b.messages);
  const results = await Promise.all(
    chats.map((jid) =>
      collect(
        h.plugin.fetchHistory(h.ctx, {
          chatId: chatId(jid),
          since: null,
          until: NOW * 1000 + 1,
          cursor: null,
        }),
      ),
    ),
  );
  chats.forEach((jid, i) => {
    const got = [
      ...pushed.filter((m) => String(m.chatId) === jid),
      ...(results[i] ?? []).flatMap((b) => b.messages),
    ];
    expect(got.every((m) => String(m.chatId) === jid)).toBe(true);
    expect(ids(got)).toEqual((phones[i] ?? []).map((m) => String(m.key?.id)).sort());
    expect(results[i]?.at(-1)?.hasMore).toBe(false);
  });
  await h.plugin.close();
});

test("an answer merged with another chat's messages (Baileys' event buffer): those go to the push handler", async () => {
  const alice = generateTextHistory({ chat: ALICE, count: 20, newest: NOW, spacing: 60, idPrefix: 'MA' });
  const bob = generateTextHistory({ chat: BOB_PN, count: 4, newest: NOW, spacing: 60, idPrefix: 'MB' });
  const h = harness({
    me: ME,
    chats: [{ jid: ALICE, messages: alice }],
    bootstrapSince: NOW - 4 * 60,
    phone: 'offline',
  });
  await h.plugin.connect(h.id);
  await h.plugin.flush(h.id);
  const socket = h.fake.last;
  if (!socket) throw new Error('no socket');
  const send = socket.fetchMessageHistory.bind(socket);
  socket.fetchMessageHistory = async (count, key, ts) => {
    const id = await send(count, key, ts);
    const bytes = encodeHistorySync({
      syncType: proto.HistorySync.HistorySyncType.ON_DEMAND,
      conversations: [
        { id: ALICE, messages: alice.slice(5) },
        { id: BOB_PN, messages: bob },
      ],
    });
    setTimeout(
      () =>
        socket.ev.emit(
          'messaging-history.set',
          historySetEventFromBytes(bytes, { peerDataRequestSessionId: id }),
        ),
      0,
    );
    return id;
  };
  const [first] = await collect(
    (async function* () {
      for await (const b of h.plugin.fetchHistory(h.ctx, {
        chatId: chatId(ALICE),
        since: null,
        until: NOW * 1000 + 1,
        cursor: null,
      })) {
        yield b;
        return;
      }
    })(),
  );
  expect(first?.messages.map((m) => String(m.externalId)).sort()).toEqual(
    alice
      .slice(5)
      .map((m) => String(m.key?.id))
      .sort(),
  );
  await h.plugin.flush(h.id);
  const pushedBob = h.pushed.filter((b) => b.syncType === 'ON_DEMAND').flatMap((b) => b.messages);
  expect(pushedBob.map((m) => String(m.externalId)).sort()).toEqual(bob.map((m) => String(m.key?.id)).sort());
  await h.plugin.close();
});

test('one plugin, two instances: separate sockets, sessions and pushed batches', async () => {
  const h = harness({ me: ME, chats: [{ jid: ALICE, messages: aliceHistory().slice(0, 4) }] });
  const other = instanceId('00000000-0000-4000-8000-0000000000ff');
  await Promise.all([h.plugin.connect(h.id), h.plugin.connect(other)]);
  await Promise.all([h.plugin.flush(h.id), h.plugin.flush(other)]);
  expect(h.fake.sockets).toHaveLength(2);
  expect(new Set(h.pushed.map((b) => String(b.instanceId)))).toEqual(new Set([String(h.id), String(other)]));
  await h.plugin.logout(other);
  expect(h.plugin.connectionState(other).status).toBe('logged_out');
  expect(h.plugin.connectionState(h.id).status).toBe('open');
  await h.plugin.close();
});
