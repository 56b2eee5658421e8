import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTestDb, TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import { type ChatKey, ChatReads } from '../../src/services/chat-reads.ts';
import { encodeCursor } from '../../src/services/mappers.ts';
import {
  exactOfUtcText,
  fetchSizeOf,
  isoOfUtcText,
  MESSAGE_PAGE_FETCH_SIZES,
  messagePageStatement,
  messageTypeOf,
} from '../../src/services/message-page.ts';
import { auth, createInstance, createTestApp } from '../helpers.ts';

const ORIGIN = 'http://api.test:8080';
const OWNER = '4915550001@s.whatsapp.net';

describe('isoOfUtcText', () => {
  test("is Date#toISOString of the same UTC time (the pg driver's Date): ms, the rest cut off", () => {
    const cases = [
      '2026-12-06 18:17:16.123456',
      '2026-12-06 18:17:16.999999',
      '2026-12-06 18:17:16',
      '2026-12-06 18:17:16.1',
      '2026-12-06 18:17:16.05',
      '2026-12-06 18:17:16.000999',
      '0099-01-01 00:00:00.5',
      '1969-12-31 23:59:59.999',
    ];
    for (const text of cases) {
      const [date, time = ''] = text.split(' ');
      const [clock = '', fraction = ''] = time.split('.');
      const [y, mo, d] = (date as string).split('-').map(Number) as [number, number, number];
      const [h, mi, s] = clock.split(':').map(Number) as [number, number, number];
      const viaDate = new Date(
        Date.UTC(2000, mo - 1, d, h, mi, s, Number(fraction.padEnd(3, '0').slice(0, 3))),
      );
      viaDate.setUTCFullYear(y);
      expect(isoOfUtcText(text)).toBe(viaDate.toISOString());
    }
  });

  test('years outside 1–9999 as Date writes them', () => {
    expect(isoOfUtcText('12000-01-02 03:04:05.678')).toBe('+012000-01-02T03:04:05.678Z');
    expect(isoOfUtcText('0044-03-15 12:00:00 BC')).toBe('-000043-03-15T12:00:00.000Z');
    expect(() => isoOfUtcText('infinity')).toThrow(RangeError);
  });

  test("exactOfUtcText is to_char's keyset text: microseconds, always six digits", () => {
    expect(exactOfUtcText('2026-12-06 18:17:16.12')).toBe('2026-12-06T18:17:16.120000Z');
    expect(exactOfUtcText('2026-12-06 18:17:16')).toBe('2026-12-06T18:17:16.000000Z');
    expect(exactOfUtcText('2026-12-06 18:17:16.000001')).toBe('2026-12-06T18:17:16.000001Z');
  });
});

describe('message page statements', () => {
  test('a fetch size from a fixed few: one more row than the page, at most a few more', () => {
    for (let limit = 1; limit <= 500; limit++) {
      const size = fetchSizeOf(limit);
      expect(size).toBeGreaterThan(limit);
      expect(MESSAGE_PAGE_FETCH_SIZES).toContain(size as (typeof MESSAGE_PAGE_FETCH_SIZES)[number]);
    }
    expect(fetchSizeOf(50)).toBe(51);
  });

  test('one statement per shape, its LIMIT and filters literal, values numbered in order', () => {
    const full = messagePageStatement({
      cursor: true,
      before: true,
      after: true,
      mediaOnly: true,
      fetch: 26,
    });
    expect(full.text).toContain('limit 26');
    expect(full.text).toContain('m.has_media');
    expect(full.text).toContain('($4::timestamptz, $5::uuid)');
    expect(full.text).toContain('m.sent_at < $6::timestamptz');
    expect(full.text).toContain('m.sent_at > $7::timestamptz');
    expect(
      messagePageStatement({ cursor: true, before: true, after: true, mediaOnly: true, fetch: 26 }),
    ).toBe(full);
    const plain = messagePageStatement({
      cursor: false,
      before: false,
      after: true,
      mediaOnly: false,
      fetch: 51,
    });
    expect(plain.name).not.toBe(full.name);
    expect(plain.text).toContain('m.sent_at > $4::timestamptz');
    expect(() =>
      messagePageStatement({ cursor: false, before: false, after: false, mediaOnly: false, fetch: 52 }),
    ).toThrow(RangeError);
  });

  test("messageTypeOf is the SQL's MESSAGE_TYPE", () => {
    expect(messageTypeOf('voice', null)).toBe('audio');
    expect(messageTypeOf('unknown', 'hi')).toBe('text');
    expect(messageTypeOf('unknown', null)).toBe('system');
    expect(messageTypeOf('edit', 'x')).toBe('system');
    expect(messageTypeOf('poll', null)).toBe('poll');
  });
});

/** Messages that exercise every field: escapes, kinds, times with and without microseconds, media, isFromMe. */
const MESSAGES: Record<string, unknown>[] = [
  { text: 'plain' },
  { text: 'quote " backslash \\ newline \n tab \t bell \u0007 nul-free \u2028 emoji 🧵 é', sender_id: OWNER },
  { kind: 'voice', text: null, sent: '2026-12-06 10:00:00.000000+00' },
  { kind: 'unknown', text: 'some text', sent: '2026-12-06 10:00:00.1+00' },
  { kind: 'unknown', text: null, sent: '2026-12-06 10:00:00.999999+00' },
  { kind: 'reaction', text: '👍', reply_to_external_id: 'target-1' },
  { kind: 'edit', text: 'never listed' },
  { kind: 'revoke', text: null },
  { kind: 'forum-post', text: 'odd kind' },
  { raw: { key: { fromMe: true } }, sender_id: 'someone@s.whatsapp.net' },
  { raw: { key: { fromMe: false } }, sender_id: OWNER },
  { raw: { key: {} }, sender_id: OWNER },
  { raw: { other: 1 }, sender_id: null },
  { source: 'live', text: 'live one' },
  {
    kind: 'image',
    has_media: true,
    media_mime_type: 'image/png',
    media_url: 'https://cdn.example/x.png',
    media_local_path: 'inst/ab/cd "quoted".png',
    media_metadata: { width: 1.5, height: 2, nested: { list: [1, 'two', { three: null }] }, note: 'é"\\' },
  },
  { kind: 'document', has_media: true, media_local_path: '', media_metadata: [] },
  { kind: 'video', has_media: true, media_metadata: null },
  { edited: '2030-01-01 00:00:00.123456+00' },
  { edited: '2030-01-01 00:00:00.5+00', deleted: '2031-06-01 12:00:00.000001+00' },
  { deleted: '2000-01-01 00:00:00+00' },
];
/**
 * A time in year 99: the page writes it as it is, as the `pg` driver's Date does; PGlite's driver
 * reads it as 1999 (a Date.UTC two-digit year), so getMessage on PGlite is no reference for it.
 */
const YEAR_99: Record<string, unknown> = {
  created: '0099-05-05 05:05:05.05+00',
  sent: '0099-05-05 05:05:05.050505+00',
};

for (const engine of TEST_ENGINES) {
  describe(`ChatReads.listMessages (${engine})`, () => {
    let t: TestDb;
    let reads: ChatReads;
    let chat: ChatKey;
    let stored: { id: string; has_media: boolean; sent_at: Date }[];

    beforeAll(async () => {
      t = await createTestDb(engine);
      const instance = await t.db
        .insertInto('instances')
        .values({ name: 'pages', channel: 'whatsapp-baileys', owner_identifier: OWNER })
        .returning('id')
        .executeTakeFirstOrThrow();
      let n = 0;
      const messages = engine === 'postgres' ? [...MESSAGES, YEAR_99] : MESSAGES;
      for (const m of [...messages, ...messages, ...messages]) {
        n++;
        const second = String(n % 60).padStart(2, '0');
        await t.db
          .insertInto('messages')
          .values({
            instance_id: instance.id,
            chat_external_id: 'group-1@g.us',
            external_id: `m${n}`,
            sender_id: 'sender_id' in m ? (m.sender_id as string | null) : `u${n % 3}@s.whatsapp.net`,
            sender_name: n % 4 === 0 ? null : `User "${n}"`,
            // Three messages share each sent time (the copies of a message), so ties break on id.
            sent_at: sql`${
              (m.sent as string | undefined) ??
              `2026-12-0${1 + (n % 5)} 12:34:${second}.${String(n * 7919)
                .padStart(6, '0')
                .slice(0, 6)}+00`
            }::timestamptz`,
            kind: (m.kind as string | undefined) ?? 'text',
            text: 'text' in m ? (m.text as string | null) : `message ${n}`,
            reply_to_external_id: (m.reply_to_external_id as string | undefined) ?? null,
            has_media: (m.has_media as boolean | undefined) ?? false,
            media_mime_type: (m.media_mime_type as string | undefined) ?? null,
            media_url: (m.media_url as string | undefined) ?? null,
            media_local_path: (m.media_local_path as string | undefined) ?? null,
            media_metadata:
              m.media_metadata === undefined || m.media_metadata === null
                ? null
                : (JSON.stringify(m.media_metadata) as never),
            source: (m.source as 'live' | undefined) ?? 'sync',
            raw: m.raw === undefined ? null : (JSON.stringify(m.raw) as never),
            created_at: sql`${(m.created as string | undefined) ?? `2026-12-07 08:00:00.${String(n).padStart(6, '0')}+00`}::timestamptz`,
            edited_at: m.edited ? sql`${m.edited as string}::timestamptz` : null,
            deleted_at: m.deleted ? sql`${m.deleted as string}::timestamptz` : null,
          })
          .execute();
      }
      reads = new ChatReads(t.db, t.prepared);
      const row = await t.db
        .selectFrom('chats')
        .select('id')
        .where('instance_id', '=', instance.id)
        .executeTakeFirstOrThrow();
      chat = await reads.chatKey(row.id);
      stored = await t.db
        .selectFrom('messages')
        .select(['id', 'has_media', 'sent_at'])
        .where('instance_id', '=', instance.id)
        .where('kind', 'not in', ['edit', 'revoke'])
        .orderBy('sent_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
    }, 60_000);
    afterAll(async () => {
      await t.close();
    });

    /** The page as `JSON.stringify` wrote it from `toMessage`'s objects (what getMessage answers). */
    async function expectedText(ids: string[], meta: { hasMore: boolean; cursor: string | null }) {
      const items = [];
      for (const id of ids) items.push(await reads.getMessage(id, ORIGIN));
      return JSON.stringify({ items, meta });
    }

    test("every page is byte for byte the text JSON.stringify writes of toMessage's items", async () => {
      for (const limit of [1, 7, 25, 50]) {
        const walked: string[] = [];
        let cursor: string | undefined;
        do {
          const text = await reads.listMessages(chat, chat.owner_identifier, { limit, cursor }, ORIGIN);
          const page = JSON.parse(text) as {
            items: { id: string }[];
            meta: { hasMore: boolean; cursor: string | null };
          };
          expect(text).toBe(
            await expectedText(
              page.items.map((m) => m.id),
              page.meta,
            ),
          );
          expect(page.items.length).toBeLessThanOrEqual(limit);
          walked.push(...page.items.map((m) => m.id));
          cursor = page.meta.cursor ?? undefined;
        } while (cursor);
        expect(walked).toEqual(stored.map((m) => m.id));
      }
    });

    test('fields the page derives: isFromMe from raw or owner, mediaUrl only when stored, updatedAt the latest', async () => {
      const text = await reads.listMessages(chat, chat.owner_identifier, { limit: 500 }, ORIGIN);
      const items = (JSON.parse(text) as { items: Record<string, unknown>[] }).items;
      const byText = (value: string) => items.find((m) => m.textContent === value) as Record<string, unknown>;
      expect(items.filter((m) => m.isFromMe === true).length).toBe(3 * 3);
      const stored = items.find((m) => typeof m.mediaUrl === 'string') as Record<string, unknown>;
      expect(stored.mediaUrl).toBe(`${ORIGIN}/api/v2/media/inst/ab/cd "quoted".png`);
      expect(items.filter((m) => m.mediaUrl !== null)).toHaveLength(3);
      expect(byText('live one').source).toBe('realtime');
      const deleted = items.find((m) => m.deletedAt === '2031-06-01T12:00:00.000Z') as Record<
        string,
        unknown
      >;
      expect(deleted.editedAt).toBe('2030-01-01T00:00:00.500Z');
      expect(deleted.updatedAt).toBe('2031-06-01T12:00:00.000Z');
      if (engine === 'postgres') {
        const old = items.find((m) => m.platformTimestamp === '0099-05-05T05:05:05.050Z');
        expect(old?.createdAt).toBe('0099-05-05T05:05:05.050Z');
      }
    });

    test('mediaOnly, before and after keep their meaning', async () => {
      const media = JSON.parse(
        await reads.listMessages(chat, null, { limit: 500, mediaOnly: true }, ORIGIN),
      ) as { items: { id: string }[] };
      expect(media.items.map((m) => m.id)).toEqual(stored.filter((m) => m.has_media).map((m) => m.id));
      const middle = stored[Math.floor(stored.length / 2)] as (typeof stored)[number];
      const at = middle.sent_at.toISOString();
      const before = JSON.parse(await reads.listMessages(chat, null, { limit: 500, before: at }, ORIGIN)) as {
        items: { id: string }[];
      };
      const after = JSON.parse(await reads.listMessages(chat, null, { limit: 500, after: at }, ORIGIN)) as {
        items: { id: string }[];
      };
      const reference = async (op: '<' | '>') =>
        (
          await t.db
            .selectFrom('messages')
            .select('id')
            .where('chat_external_id', '=', chat.external_id)
            .where('kind', 'not in', ['edit', 'revoke'])
            .where('sent_at', op, new Date(at))
            .orderBy('sent_at', 'desc')
            .orderBy('id', 'desc')
            .execute()
        ).map((m) => m.id);
      expect(before.items.map((m) => m.id)).toEqual(await reference('<'));
      expect(after.items.map((m) => m.id)).toEqual(await reference('>'));
      expect(before.items.length).toBeGreaterThan(0);
      expect(after.items.length).toBeGreaterThan(0);
      const pagedMedia: string[] = [];
      let cursor: string | undefined;
      do {
        const page = JSON.parse(
          await reads.listMessages(
            chat,
            null,
            { limit: 2, mediaOnly: true, before: '2027-01-01T00:00:00Z', cursor },
            ORIGIN,
          ),
        ) as { items: { id: string }[]; meta: { cursor: string | null } };
        pagedMedia.push(...page.items.map((m) => m.id));
        cursor = page.meta.cursor ?? undefined;
      } while (cursor);
      expect(pagedMedia).toEqual(media.items.map((m) => m.id));
    });
  });
}

describe('GET /chats/:id/messages', () => {
  test('a cursor of the right shape that Postgres refuses (February 30) is a 400 that does not echo it', async () => {
    const t = await createTestApp();
    try {
      const instanceId = await createInstance(t, 'pages-route');
      await t.db.db
        .insertInto('messages')
        .values({
          instance_id: instanceId,
          chat_external_id: '900',
          external_id: 'm1',
          sent_at: new Date('2026-12-01T10:00:00.000Z'),
          kind: 'text',
          text: 'hi',
        })
        .execute();
      const chat = await t.db.db
        .selectFrom('chats')
        .select('id')
        .where('instance_id', '=', instanceId)
        .executeTakeFirstOrThrow();
      const ok = await t.app.inject({ url: `/api/v2/chats/${chat.id}/messages`, headers: auth });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(ok.json().items).toHaveLength(1);
      const feb30 = encodeCursor(['2026-02-30T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000']);
      const res = await t.app.inject({
        url: `/api/v2/chats/${chat.id}/messages?cursor=${feb30}`,
        headers: auth,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      expect(res.body).not.toContain('2026-02-30');
    } finally {
      await t.close();
    }
  }, 60_000);
});
