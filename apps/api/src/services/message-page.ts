import type { PreparedStatement } from '@omni/db';
import { MESSAGE_TYPES } from '../schemas/chat.ts';
import { API_PREFIX_PATH } from './api-prefix.ts';
import { encodeCursor } from './mappers.ts';

/**
 * Rows a page statement fetches: the smallest of these above the page's `limit` (one more row says
 * whether more follow). Few sizes keep the statements per connection few (a `LIMIT` must be a
 * literal for the generic plan to be the index walk); a page between two sizes reads a few rows
 * more than it shows.
 */
export const MESSAGE_PAGE_FETCH_SIZES = [11, 26, 51, 101, 201, 501] as const;

/** Which filters a page statement has; each combination is one statement. */
export interface MessagePageShape {
  /** `(sent_at, id)` below a cursor's. */
  cursor: boolean;
  /** `sent_at` before a time. */
  before: boolean;
  /** `sent_at` after a time. */
  after: boolean;
  /** Only messages with media (the partial index `messages_chat_media_idx`). */
  mediaOnly: boolean;
  /** Rows fetched: one of {@link MESSAGE_PAGE_FETCH_SIZES}. */
  fetch: number;
}

/** A row of a page statement: everything as text (no `Date` or JSON parsed), flags as booleans. */
export interface MessagePageRow {
  id: string;
  external_id: string;
  sender_id: string | null;
  sender_name: string | null;
  kind: string;
  text: string | null;
  reply_to_external_id: string | null;
  has_media: boolean;
  media_mime_type: string | null;
  media_url: string | null;
  media_local_path: string | null;
  /** The stored jsonb as text. */
  media_metadata: string | null;
  source: string;
  /** Times as UTC `timestamp` text: `YYYY-MM-DD HH:MI:SS[.f…]` (fraction without trailing zeros). */
  edited_at: string | null;
  deleted_at: string | null;
  created_at: string;
  sent_at: string;
  is_from_me: boolean;
}

/** The page's chat: its keys, written into every message. */
export interface MessagePageChat {
  id: string;
  instance_id: string;
  external_id: string;
}

const utc = (column: string) => `(${column} at time zone 'UTC')::text`;

const statements = new Map<string, PreparedStatement>();

/**
 * The statement of a page of one chat's messages, newest first, on the chat's
 * `(instance_id, chat_external_id, sent_at, id)` index (its partial twin for `mediaOnly`). Values:
 * instance id, chat platform id, the instance's owner (`isFromMe` of a message without a platform
 * flag), then as the shape has them: cursor time and id, `before`, `after`.
 */
export function messagePageStatement(shape: MessagePageShape): PreparedStatement {
  const name = `omni_chat_page_${shape.cursor ? 'c' : ''}${shape.before ? 'b' : ''}${shape.after ? 'a' : ''}${shape.mediaOnly ? 'm' : ''}_${shape.fetch}`;
  const known = statements.get(name);
  if (known) return known;
  if (!(MESSAGE_PAGE_FETCH_SIZES as readonly number[]).includes(shape.fetch)) {
    throw new RangeError(`no page statement fetches ${shape.fetch} rows`);
  }
  let n = 3;
  const where = [
    'm.instance_id = $1::uuid',
    'm.chat_external_id = $2::text',
    "m.kind not in ('edit', 'revoke')",
  ];
  if (shape.mediaOnly) where.push('m.has_media');
  if (shape.cursor) where.push(`(m.sent_at, m.id) < ($${++n}::timestamptz, $${++n}::uuid)`);
  if (shape.before) where.push(`m.sent_at < $${++n}::timestamptz`);
  if (shape.after) where.push(`m.sent_at > $${++n}::timestamptz`);
  const text = `select m.id, m.external_id, m.sender_id, m.sender_name, m.kind, m.text, m.reply_to_external_id,
  m.has_media, m.media_mime_type, m.media_url, m.media_local_path, m.media_metadata::text as media_metadata, m.source,
  ${utc('m.edited_at')} as edited_at, ${utc('m.deleted_at')} as deleted_at, ${utc('m.created_at')} as created_at,
  ${utc('m.sent_at')} as sent_at,
  coalesce((m.raw -> 'key' ->> 'fromMe')::boolean, m.sender_id is not null and m.sender_id = $3::text, false) as is_from_me
from messages as m
where ${where.join(' and ')}
order by m.sent_at desc, m.id desc
limit ${shape.fetch}`;
  const statement = { name, text };
  statements.set(name, statement);
  return statement;
}

/** The fetch size of a page of `limit` messages (1–500). */
export function fetchSizeOf(limit: number): number {
  return MESSAGE_PAGE_FETCH_SIZES.find((size) => size > limit) ?? limit + 1;
}

const UTC_TEXT = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?( BC)?$/;

function partsOf(text: string): RegExpExecArray {
  const parts = UTC_TEXT.exec(text);
  if (!parts) throw new RangeError(`not a UTC timestamp text: ${text}`);
  return parts;
}

/**
 * `Date#toISOString` of a UTC `timestamp` text as Postgres writes it (`YYYY-MM-DD HH:MI:SS[.f…]`):
 * milliseconds, the rest of the fraction cut off — what the `pg` driver's `Date` of the same time
 * gives, without parsing one (years outside 1–9999 go through a `Date`).
 */
export function isoOfUtcText(text: string): string {
  const end = text.charCodeAt(text.length - 1);
  if (text.length >= 19 && text.length <= 26 && text.charCodeAt(4) === 45 && end >= 48 && end <= 57) {
    const fraction = text.length > 20 ? text.slice(20, 23) : '';
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.padEnd(3, '0')}Z`;
  }
  const [, year, month, day, hour, minute, second, fraction = '', bc] = partsOf(text);
  const date = new Date(0);
  date.setUTCFullYear(bc ? 1 - Number(year) : Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), Number(fraction.padEnd(3, '0').slice(0, 3)));
  return date.toISOString();
}

/** A UTC `timestamp` text as a keyset cursor's exact time: `YYYY-MM-DDTHH:MI:SS.ffffffZ`. */
export function exactOfUtcText(text: string): string {
  const [, year, month, day, hour, minute, second, fraction = ''] = partsOf(text);
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(6, '0')}Z`;
}

const OMNI_MESSAGE_TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);

/** Omni's message type of a stored kind (as `MESSAGE_TYPE` of chat-reads.ts says it in SQL). */
export function messageTypeOf(kind: string, text: string | null): string {
  if (OMNI_MESSAGE_TYPES.has(kind)) return kind;
  if (kind === 'voice') return 'audio';
  return kind === 'unknown' && text !== null ? 'text' : 'system';
}

const json = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));

/**
 * The JSON text of a page (`{"items":[…],"meta":{"hasMore","cursor"}}`) of the first `limit` of
 * `rows`, each message with Omni's fields in `OmniMessage`'s order — the same text
 * `JSON.stringify` writes of `toMessage`'s objects, written straight from the rows' text.
 */
export function renderMessagePage(
  rows: readonly MessagePageRow[],
  limit: number,
  chat: MessagePageChat,
  origin: string,
): string {
  const count = Math.min(rows.length, limit);
  const chatFields = `,"chatId":${JSON.stringify(chat.id)},"instanceId":${JSON.stringify(chat.instance_id)},"externalId":`;
  const chatExternalId = `,"chatExternalId":${JSON.stringify(chat.external_id)},"source":"`;
  const mediaPrefix = `${origin}${API_PREFIX_PATH}/media/`;
  let out = '{"items":[';
  for (let i = 0; i < count; i++) {
    const row = rows[i] as MessagePageRow;
    const created = isoOfUtcText(row.created_at);
    const edited = row.edited_at === null ? null : isoOfUtcText(row.edited_at);
    const deleted = row.deleted_at === null ? null : isoOfUtcText(row.deleted_at);
    const media = row.media_metadata === null ? 'null' : JSON.stringify(JSON.parse(row.media_metadata));
    out += `${i === 0 ? '' : ','}{"id":${JSON.stringify(row.id)}${chatFields}${JSON.stringify(row.external_id)}${chatExternalId}${
      row.source === 'live' ? 'realtime' : 'sync'
    }","messageType":"${messageTypeOf(row.kind, row.text)}","textContent":${json(row.text)},"platformTimestamp":"${isoOfUtcText(
      row.sent_at,
    )}","isFromMe":${row.is_from_me === true},"senderPlatformUserId":${json(row.sender_id)},"senderDisplayName":${json(
      row.sender_name,
    )},"replyToExternalId":${json(row.reply_to_external_id)},"hasMedia":${row.has_media === true},"mediaMimeType":${json(
      row.media_mime_type,
    )},"mediaUrl":${row.media_local_path ? JSON.stringify(mediaPrefix + row.media_local_path) : 'null'},"editedAt":${json(
      edited,
    )},"deletedAt":${json(deleted)},"metadata":{"kind":${JSON.stringify(row.kind)},"platformMediaUrl":${json(
      row.media_url,
    )},"media":${media}},"createdAt":"${created}","updatedAt":"${later(later(created, edited), deleted)}"}`;
  }
  const hasMore = rows.length > limit;
  const last = rows[count - 1];
  const cursor =
    hasMore && last ? JSON.stringify(encodeCursor([exactOfUtcText(last.sent_at), last.id])) : 'null';
  return `${out}],"meta":{"hasMore":${hasMore},"cursor":${cursor}}}`;
}

/** The later of two ISO times (`…Z` texts of one length compare as times; others through `Date`). */
const later = (a: string, b: string | null): string =>
  b === null ? a : (a.length === b.length ? b > a : Date.parse(b) > Date.parse(a)) ? b : a;
