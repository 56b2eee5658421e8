import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  encodeHistorySync,
  FakeMediaServer,
  historySetEventFromBytes,
  type PublishedMedia,
  waMessages,
} from '@omni/testkit/whatsapp';
import { proto } from '@whiskeysockets/baileys';
import { IdentityMap } from '../src/identity/identity-map.ts';
import { normalizeJid } from '../src/identity/jid.ts';
import { toJsonSafe } from '../src/normalize/json-safe.ts';
import { normalizeMessage } from '../src/normalize/normalize-message.ts';

const CHAT = '15550001111@s.whatsapp.net';
const LID = '99887766@lid';
const GROUP = '120363000000000001@g.us';
const ME = '15559990000@s.whatsapp.net';
const T = 1_760_000_000;

let media: FakeMediaServer;
let image: PublishedMedia;
let voice: PublishedMedia;

beforeAll(async () => {
  media = new FakeMediaServer();
  image = await media.publish(new Uint8Array([1, 2, 3, 4]), 'image', 'image/jpeg');
  voice = await media.publish(new Uint8Array([5, 6, 7]), 'audio', 'audio/ogg; codecs=opus');
});
afterAll(() => media.close());

/** Runs messages through a real HistorySync encode/decode and Baileys' processHistoryMessage. */
function throughBaileys(messages: proto.IWebMessageInfo[], chat = CHAT) {
  const bytes = encodeHistorySync({
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    conversations: [{ id: chat, messages }],
  });
  return historySetEventFromBytes(bytes).messages;
}

function normalizeAll(messages: proto.IWebMessageInfo[], chat = CHAT, identity = new IdentityMap()) {
  return throughBaileys(messages, chat).map((m) =>
    normalizeMessage(m, { identity, self: { id: ME, name: 'Me' } }),
  );
}

const e = (id: string, extra: Partial<{ fromMe: boolean; participant: string; chat: string }> = {}) => ({
  id,
  chat: extra.chat ?? CHAT,
  timestamp: T,
  pushName: 'Ana',
  ...extra,
});

describe('normalizeMessage', () => {
  test('text and extended text with a reply; Long seconds become UTC ms', () => {
    const [a, b] = normalizeAll([
      waMessages.text(e('A'), 'hello'),
      waMessages.extendedText(e('B'), 'see https://x.y', { id: 'A', chat: CHAT }),
    ]);
    expect(a).toMatchObject({
      externalId: 'A',
      chatId: CHAT,
      kind: 'text',
      text: 'hello',
      timestamp: T * 1000,
    });
    expect(String(a?.senderId)).toBe(CHAT);
    expect(a?.senderName).toBe('Ana');
    expect(b).toMatchObject({ kind: 'text', text: 'see https://x.y', replyToId: 'A' });
    expect(JSON.parse(JSON.stringify(a?.raw))).toEqual(a?.raw ?? null);
    expect((a?.raw as { messageTimestamp?: unknown } | undefined)?.messageTimestamp).toBe(T);
    expect(Object.keys((a?.raw as Record<string, unknown> | undefined) ?? {}).sort()).toEqual(
      ['key', 'message', 'messageTimestamp', 'pushName'].sort(),
    );
  });

  test('image carries a JSON-safe download key and the hex sha256', () => {
    const [m] = normalizeAll([waMessages.image(e('I'), image, 'a cat')]);
    expect(m?.kind).toBe('image');
    expect(m?.text).toBe('a cat');
    const d = m?.media[0];
    expect(d).toMatchObject({
      url: image.url,
      mimeType: 'image/jpeg',
      width: 640,
      height: 480,
      caption: 'a cat',
    });
    expect(d?.size).toBe(image.fileLength);
    expect(d?.sha256).toBe(Buffer.from(image.fileSha256).toString('hex'));
    expect(d?.key).toMatchObject({
      contentType: 'imageMessage',
      mediaKey: Buffer.from(image.mediaKey).toString('base64'),
      url: image.url,
      fileEncSha256: Buffer.from(image.fileEncSha256).toString('base64'),
      messageKey: { id: 'I', remoteJid: CHAT, fromMe: false },
    });
    expect(JSON.parse(JSON.stringify(m?.raw))).toEqual(m?.raw ?? null);
  });

  test('voice note keeps ptt, seconds and waveform; plain audio is audio', () => {
    const wave = new Uint8Array([0, 10, 20, 99, 40]);
    const [v, a] = normalizeAll([
      waMessages.voice(e('V'), voice, 7, wave),
      waMessages.audio(e('AU'), voice, 30),
    ]);
    expect(v?.kind).toBe('voice');
    expect(v?.media[0]).toMatchObject({
      isVoiceNote: true,
      durationSeconds: 7,
      waveform: Buffer.from(wave).toString('base64'),
    });
    expect(a?.kind).toBe('audio');
    expect(a?.media[0]?.isVoiceNote).toBe(false);
  });

  test('video, document (plain and with caption), sticker, view-once', () => {
    const [v, d1, d2, s, vo] = normalizeAll([
      waMessages.video(e('VI'), image, 12),
      waMessages.document(e('D1'), image, 'report.pdf'),
      waMessages.document(e('D2'), image, 'notes.pdf', 'read this'),
      waMessages.sticker(e('S'), image),
      waMessages.viewOnceImage(e('VO'), image, 'once'),
    ]);
    expect(v).toMatchObject({ kind: 'video' });
    expect(v?.media[0]?.durationSeconds).toBe(12);
    expect(d1?.kind).toBe('document');
    expect(d1?.media[0]?.filename).toBe('report.pdf');
    expect(d2).toMatchObject({ kind: 'document', text: 'read this' });
    expect(d2?.media[0]?.filename).toBe('notes.pdf');
    expect(s?.kind).toBe('sticker');
    expect(vo).toMatchObject({ kind: 'image', text: 'once' });
    expect(vo?.media[0]?.extra?.viewOnce).toBe(true);
  });

  test('location, contact, reaction, poll', () => {
    const [l, c, r, p] = normalizeAll([
      waMessages.location(e('L'), 52.5, 13.4, 'Cafe', 'Main St 1'),
      waMessages.contact(e('C'), 'Bob', '15550002222'),
      waMessages.reaction(e('R'), { id: 'A', chat: CHAT }, '👍'),
      waMessages.poll(e('P'), 'Lunch?', ['yes', 'no']),
    ]);
    expect(l).toMatchObject({ kind: 'location', text: 'Cafe, Main St 1' });
    expect(c).toMatchObject({ kind: 'contact', text: 'Bob' });
    expect(r).toMatchObject({ kind: 'reaction', text: '👍', targetId: 'A' });
    expect(p?.kind).toBe('poll');
    expect(p?.text).toContain('Lunch?');
    expect(p?.text).toContain('- no');
  });

  test('edits (plain and wrapped in editedMessage) and revokes point at their target', () => {
    const [plain, wrapped, revoke] = normalizeAll([
      waMessages.edit(e('E1', { fromMe: true }), { id: 'A', chat: CHAT, fromMe: true }, 'fixed', false),
      waMessages.edit(e('E2', { fromMe: true }), { id: 'B', chat: CHAT, fromMe: true }, 'fixed again', true),
      waMessages.revoke(e('X', { fromMe: true }), { id: 'C', chat: CHAT, fromMe: true }),
    ]);
    expect(plain).toMatchObject({ kind: 'edit', targetId: 'A', text: 'fixed', editedAt: T * 1000 });
    expect(wrapped).toMatchObject({ kind: 'edit', targetId: 'B', text: 'fixed again' });
    expect(revoke).toMatchObject({ kind: 'revoke', targetId: 'C', text: null });
    expect(String(plain?.senderId)).toBe(ME);
    expect(plain?.senderName).toBe('Me');
  });

  test('stub messages: group events are system messages, a message deleted before the sync keeps deletedAt', () => {
    const [created, revoked] = normalizeAll(
      [
        {
          key: { id: 'S1', remoteJid: GROUP, fromMe: false },
          messageTimestamp: T,
          messageStubType: proto.WebMessageInfo.StubType.GROUP_CREATE,
          messageStubParameters: ['Team'],
        },
        {
          key: { id: 'S2', remoteJid: GROUP, fromMe: false, participant: CHAT },
          messageTimestamp: T,
          messageStubType: proto.WebMessageInfo.StubType.REVOKE,
        },
      ],
      GROUP,
    );
    expect(created).toMatchObject({ kind: 'system', text: 'GROUP_CREATE: Team' });
    expect(revoked).toMatchObject({ kind: 'unknown', text: null, deletedAt: T * 1000 });
  });

  test('LID chats and senders are keyed by the phone JID once the pair is known', () => {
    const identity = new IdentityMap();
    const bytes = encodeHistorySync({
      syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
      conversations: [
        { id: LID, pnJid: CHAT, messages: [waMessages.text({ id: 'L1', chat: LID, timestamp: T }, 'hi')] },
      ],
    });
    const event = historySetEventFromBytes(bytes);
    expect(event.lidPnMappings).toEqual([{ lid: LID, pn: CHAT }]);
    for (const pair of event.lidPnMappings ?? []) identity.link(pair.lid, pair.pn);
    const m = normalizeMessage(event.messages[0]!, { identity, self: { id: ME } });
    expect(String(m?.chatId)).toBe(CHAT);
    expect(String(m?.senderId)).toBe(CHAT);
    expect(identity.lidOf(CHAT)).toBe(LID);
  });

  test('live keys teach the map through remoteJidAlt / participantAlt', () => {
    const identity = new IdentityMap();
    const live = {
      ...waMessages.text({ id: 'G1', chat: GROUP, timestamp: T, participant: '5551@lid' }, 'yo'),
      key: {
        remoteJid: GROUP,
        id: 'G1',
        fromMe: false,
        participant: '5551:3@lid',
        participantAlt: '15550003333@s.whatsapp.net',
      },
    };
    const group = normalizeMessage(live, { identity, self: { id: ME } });
    expect(String(group?.chatId)).toBe(GROUP);
    expect(String(group?.senderId)).toBe('15550003333@s.whatsapp.net');
    const dm = normalizeMessage(
      {
        ...waMessages.text({ id: 'D1', chat: '777@lid', timestamp: T }, 'x'),
        key: { remoteJid: '777@lid', remoteJidAlt: '15557777777@s.whatsapp.net', id: 'D1', fromMe: false },
      },
      { identity, self: { id: ME } },
    );
    expect(String(dm?.chatId)).toBe('15557777777@s.whatsapp.net');
  });
});

describe('normalizeJid', () => {
  test('drops device and agent, maps @c.us; ids already user-level come back as they are', () => {
    const cases: [string, string][] = [
      ['15550001111@s.whatsapp.net', '15550001111@s.whatsapp.net'],
      ['15550001111:12@s.whatsapp.net', '15550001111@s.whatsapp.net'],
      ['15550001111_1:12@s.whatsapp.net', '15550001111@s.whatsapp.net'],
      ['15550001111_1@s.whatsapp.net', '15550001111@s.whatsapp.net'],
      ['222000:3@lid', '222000@lid'],
      ['222000@hosted.lid', '222000@hosted.lid'],
      ['15550001111@c.us', '15550001111@s.whatsapp.net'],
      ['15550001111:2@c.us', '15550001111@s.whatsapp.net'],
      ['120363000000000001@g.us', '120363000000000001@g.us'],
      ['1203-63_1@g.us', '1203-63_1@g.us'],
      ['1203-63:1@g.us', '1203-63@g.us'],
      ['a_b@x@g.us', 'a@x@g.us'],
      ['status@broadcast', 'status@broadcast'],
      ['no-server', 'no-server'],
    ];
    for (const [jid, expected] of cases) expect(normalizeJid(jid)).toBe(expected);
  });
});

describe('toJsonSafe', () => {
  test('bytes become base64, Longs and bigints numbers, Dates ISO; undefined, functions and empty lists go', () => {
    const long = { low: 5, high: 0, toNumber: () => 5 };
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253]);
    const value = {
      s: 'x',
      b: false,
      n: 3.5,
      inf: Number.POSITIVE_INFINITY,
      big: 7n,
      nil: null,
      undef: undefined,
      fn: () => 1,
      empty: [],
      list: [1, undefined, 'a', bytes],
      bytes,
      buffer: Buffer.from('hello'),
      sub: bytes.subarray(2, 5),
      long,
      when: new Date(Date.UTC(2026, 0, 1)),
      nested: { deeper: { ts: long, tags: [] } },
    };
    expect(toJsonSafe(value)).toEqual({
      s: 'x',
      b: false,
      n: 3.5,
      inf: null,
      big: 7,
      nil: null,
      list: [1, null, 'a', 'AAEC+vv8/Q=='],
      bytes: 'AAEC+vv8/Q==',
      buffer: 'aGVsbG8=',
      sub: 'Avr7',
      long: 5,
      when: '2026-01-01T00:00:00.000Z',
      nested: { deeper: { ts: 5 } },
    });
    expect(toJsonSafe(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect([toJsonSafe(undefined), toJsonSafe(Symbol('s')), toJsonSafe('t')]).toEqual([null, null, 't']);
  });
});
