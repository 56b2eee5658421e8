import { afterAll, describe, expect, test } from 'bun:test';
import { type BaileysEventMap, downloadMediaMessage, proto } from '@whiskeysockets/baileys';
import {
  createFakeSocketFactory,
  encodeHistorySync,
  FakeMediaServer,
  generateTextHistory,
  historySetEventFromBytes,
  waMessages,
} from '../src/whatsapp/index.ts';

const CHAT = '15550001111@s.whatsapp.net';
const media = new FakeMediaServer();
afterAll(() => media.close());

describe('fake WhatsApp', () => {
  test('history chunks round-trip through protobuf and Baileys processHistoryMessage', () => {
    const messages = generateTextHistory({ chat: '77@lid', count: 3, newest: 1_700_000_000, spacing: 10 });
    const bytes = encodeHistorySync({
      syncType: proto.HistorySync.HistorySyncType.ON_DEMAND,
      conversations: [{ id: '77@lid', pnJid: CHAT, messages }],
    });
    expect(bytes).toBeInstanceOf(Uint8Array);
    const event = historySetEventFromBytes(bytes, { peerDataRequestSessionId: 'REQ1' });
    expect(event.messages.map((m) => m.key.id)).toEqual(messages.map((m) => m.key?.id));
    expect(event.lidPnMappings).toEqual([{ lid: '77@lid', pn: CHAT }]);
    expect(event.peerDataRequestSessionId).toBe('REQ1');
    expect(event.isLatest).toBeUndefined();
    expect(typeof event.messages[0]?.messageTimestamp).toBe('object');
  });

  test('media is encrypted with Baileys and decrypts with downloadMediaMessage; 410 after expiry', async () => {
    const plain = new Uint8Array(10_000).map((_, i) => i % 251);
    const published = await media.publish(plain, 'image', 'image/png');
    const msg = waMessages.image({ id: 'I1', chat: CHAT, timestamp: 1 }, published);
    const out = (await downloadMediaMessage(
      { key: msg.key ?? {}, message: msg.message },
      'buffer',
      {},
    )) as Buffer;
    expect(Buffer.compare(out, Buffer.from(plain))).toBe(0);
    media.expire(published.url, 410);
    const failure = await downloadMediaMessage(
      { key: msg.key ?? {}, message: msg.message },
      'buffer',
      {},
    ).catch((e: unknown) => e);
    expect((failure as { output?: { statusCode?: number } }).output?.statusCode).toBe(410);
    const fresh = media.reupload(published.url);
    expect(fresh).not.toBeNull();
    expect(fresh).not.toBe(published.url);
  });

  test('on-demand requests are answered with older messages and the request id as session id', async () => {
    const phone = generateTextHistory({ chat: CHAT, count: 30, newest: 1_700_000_000, spacing: 10 });
    const fake = createFakeSocketFactory({
      me: { id: '1@s.whatsapp.net', name: 'Me' },
      chats: [{ jid: CHAT, messages: phone }],
      pushOnOpen: false,
    });
    const socket = fake.factory();
    const answers: BaileysEventMap['messaging-history.set'][] = [];
    socket.ev.on('messaging-history.set', (e) => answers.push(e));
    const anchor = phone[4];
    const id = await socket.fetchMessageHistory(
      10,
      anchor?.key ?? {},
      Number(anchor?.messageTimestamp) * 1000,
    );
    expect(answers).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 0));
    expect(answers).toHaveLength(1);
    expect(answers[0]?.peerDataRequestSessionId).toBe(id);
    expect(answers[0]?.syncType).toBe(proto.HistorySync.HistorySyncType.ON_DEMAND);
    expect(answers[0]?.messages.map((m) => m.key.id)).toEqual(phone.slice(5, 15).map((m) => m.key?.id));
    socket.end(undefined);
  });

  test('FULL chunks are dropped unless the socket keeps them, as Baileys does', async () => {
    const phone = generateTextHistory({ chat: CHAT, count: 10, newest: 1_000, spacing: 10 });
    const scenario = {
      me: { id: '1@s.whatsapp.net', name: 'Me' },
      chats: [{ jid: CHAT, messages: phone }],
      bootstrapSince: 960,
      fullSince: 0,
      pushOnOpen: false,
    };
    const count = (keep?: () => boolean) => {
      const socket = createFakeSocketFactory(scenario).factory(
        keep ? { shouldSyncHistoryMessage: keep } : undefined,
      );
      const types: number[] = [];
      socket.ev.on('messaging-history.set', (e) => types.push(e.syncType ?? -1));
      socket.pushHistory();
      socket.end(undefined);
      return types;
    };
    const FULL = proto.HistorySync.HistorySyncType.FULL;
    expect(count().includes(FULL)).toBe(false);
    expect(count(() => true).includes(FULL)).toBe(true);
  });
});
