import { createHash } from 'node:crypto';
import type { Database, PreparedStatement, RunPrepared } from '@omni/db';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Static } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import type { Chat, ChatParticipant, OmniMessage } from '../schemas/chat.ts';
import { API_PREFIX_PATH } from './api-prefix.ts';
import { type CursorPart, decodeCursor, keysetPage, malformedCursor } from './mappers.ts';
import {
  fetchSizeOf,
  isoOfUtcText,
  type MessagePageRow,
  messagePageStatement,
  renderMessagePage,
} from './message-page.ts';
import type { MessagePageCache } from './message-page-cache.ts';

/** A time text ending in a zone (`Z`, `±hh:mm`, `±hhmm`): read alike by JavaScript and Postgres. */
const ZONED = /(Z|[+-]\d\d:?\d\d)$/;

/** Epoch ms of a UTC `timestamp` text; NaN when JavaScript cannot hold it (`-infinity`…). */
function msOfUtcText(text: string): number {
  try {
    return Date.parse(isoOfUtcText(text));
  } catch {
    return Number.NaN;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Omni's chat type of a stored chat: its kind when Omni has it, else read from the platform id. */
const CHAT_TYPE = sql<string>`case
  when c.kind in ('dm', 'group', 'channel', 'thread', 'forum', 'voice', 'broadcast', 'community', 'announcement', 'stage') then c.kind
  when c.kind = 'forum-post' then 'thread'
  when c.external_id like '%@g.us' then 'group'
  when c.external_id like '%@broadcast' then 'broadcast'
  when c.external_id like '%@newsletter' then 'channel'
  when c.external_id like '%@s.whatsapp.net' or c.external_id like '%@lid' then 'dm'
  else 'channel' end`;

/** Omni's message type of a stored message kind. */
const MESSAGE_TYPE = sql<string>`case
  when m.kind in ('text', 'audio', 'image', 'video', 'document', 'sticker', 'contact', 'location', 'poll', 'reaction', 'system') then m.kind
  when m.kind = 'voice' then 'audio'
  when m.kind = 'unknown' and m.text is not null then 'text'
  else 'system' end`;

/** A timestamp as exact UTC text (microseconds), for keyset cursors. */
const exact = (column: RawBuilder<unknown> | string) =>
  sql<string>`to_char(${typeof column === 'string' ? sql.ref(column) : column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function cursorOf(cursor: string | undefined, kinds: readonly CursorPart[]): string[] | null {
  if (!cursor) return null;
  const parts = decodeCursor(cursor, kinds);
  if (!parts) throw malformedCursor();
  return parts;
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** How long {@link ChatReads.chatKey} reuses a chat's key, ms. */
export const CHAT_KEY_TTL_MS = 5_000;
/** Chats whose keys {@link ChatReads.chatKey} keeps at most. */
export const CHAT_KEY_CACHE_SIZE = 10_000;

/** What a page of a chat's messages needs of the chat. */
export interface ChatKey {
  id: string;
  instance_id: string;
  external_id: string;
  owner_identifier: string | null;
}

/** Filters and paging of {@link ChatReads.listChats}. */
export interface ListChatsFilter {
  instanceId?: string | undefined;
  channel?: string | undefined;
  chatType?: string | undefined;
  excludeChatTypes?: string | undefined;
  search?: string | undefined;
  sort?: 'activity' | 'unread' | 'name' | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Window and paging of {@link ChatReads.listMessages}. */
export interface ListMessagesFilter {
  before?: string | undefined;
  after?: string | undefined;
  mediaOnly?: boolean | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** The statement of a page of messages and its values (400 for a window or cursor that is wrong). */
function pageQuery(
  chat: { instance_id: string; external_id: string },
  owner: string | null,
  filter: ListMessagesFilter,
): { statement: PreparedStatement; values: unknown[]; cursorTime: string | undefined } {
  if (filter.before && filter.after && Date.parse(filter.after) >= Date.parse(filter.before)) {
    throw ApiError.validation('after must be before before', [{ in: 'querystring', path: '/after' }]);
  }
  const after = cursorOf(filter.cursor, ['timestamp', 'uuid']);
  const values: unknown[] = [chat.instance_id, chat.external_id, owner];
  if (after) values.push(after[0], after[1]);
  // As a `Date` (milliseconds) did before: the same instant whatever precision the query gave.
  if (filter.before) values.push(new Date(filter.before).toISOString());
  if (filter.after) values.push(new Date(filter.after).toISOString());
  const statement = messagePageStatement({
    cursor: after !== null,
    before: Boolean(filter.before),
    after: Boolean(filter.after),
    mediaOnly: filter.mediaOnly === true,
    fetch: fetchSizeOf(filter.limit),
  });
  return { statement, values, cursorTime: after ? String(after[0]) : undefined };
}

/**
 * Reads of synced chats and their messages with Omni's field names. Every list is a keyset walk
 * on an index: chats by activity or name, a chat's messages newest first on
 * `(instance_id, chat_external_id, sent_at, id)` (its partial twin for `mediaOnly`).
 */
export class ChatReads {
  readonly #db: Kysely<Database>;
  readonly #prepared: RunPrepared;

  /** Chat keys recently read by {@link chatKey}: a page of messages needs no chat query. */
  readonly #keys = new Map<string, { at: number; key: ChatKey }>();

  readonly #pages: MessagePageCache | undefined;

  /**
   * `prepared` runs the statements of message pages ({@link listMessages}); `pages` keeps them
   * ({@link messagePage}).
   */
  constructor(db: Kysely<Database>, prepared: RunPrepared, pages?: MessagePageCache) {
    this.#db = db;
    this.#prepared = prepared;
    this.#pages = pages;
  }

  #chats() {
    return this.#db
      .selectFrom('chats as c')
      .innerJoin('instances as i', 'i.id', 'c.instance_id')
      .selectAll('c')
      .select(['i.channel', 'i.owner_identifier'])
      .select(CHAT_TYPE.as('chat_type'));
  }

  /** A page of chats: most recent activity first (or by name), filtered like Omni's list. */
  async listChats(filter: ListChatsFilter) {
    let query = this.#chats();
    if (filter.instanceId) query = query.where('c.instance_id', '=', filter.instanceId);
    const channels = list(filter.channel);
    if (channels.length > 0) query = query.where('i.channel', 'in', channels as never[]);
    const types = list(filter.chatType);
    if (types.length > 0) query = query.where(CHAT_TYPE, 'in', types);
    const excluded = list(filter.excludeChatTypes);
    if (excluded.length > 0) query = query.where(CHAT_TYPE, 'not in', excluded);
    if (filter.search) {
      const pattern = `%${filter.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      query = query.where((eb) =>
        eb.or([
          eb('c.name', 'ilike', pattern),
          eb('c.external_id', 'ilike', pattern),
          eb('c.alt_external_id', 'ilike', pattern),
        ]),
      );
    }
    const after = cursorOf(filter.cursor, ['text', 'uuid']);
    const byName = filter.sort === 'name';
    const key = byName
      ? sql<string>`lower(coalesce(c.name, c.external_id))`
      : sql<string>`coalesce(c.last_message_at, '-infinity'::timestamptz)`;
    if (after && !byName && after[0] !== '-infinity' && Number.isNaN(Date.parse(after[0] as string))) {
      throw malformedCursor();
    }
    if (after) {
      query = byName
        ? query.where(sql<boolean>`(${key}, c.id) > (${after[0]}, ${after[1]}::uuid)`)
        : query.where(sql<boolean>`(${key}, c.id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`);
    }
    const sortText = byName ? key : sql<string>`coalesce(${exact(sql`c.last_message_at`)}, '-infinity')`;
    const rows = await query
      .select(sortText.as('sort_key'))
      .orderBy(key, byName ? 'asc' : 'desc')
      .orderBy('c.id', byName ? 'asc' : 'desc')
      .limit(filter.limit + 1)
      .execute();
    const page = keysetPage(rows, filter.limit, (last) => [last.sort_key, last.id]);
    return { items: page.page.map(toChat), meta: { hasMore: page.hasMore, cursor: page.cursor } };
  }

  /** One chat by its uuid or its platform id; 404 when unknown. */
  async getChat(id: string) {
    const query = this.#chats();
    const row = UUID.test(id)
      ? await query.where('c.id', '=', id).executeTakeFirst()
      : await query
          .where('c.external_id', '=', id)
          .orderBy('c.updated_at', 'desc')
          .limit(1)
          .executeTakeFirst();
    if (!row) throw ApiError.notFound('chat', id);
    return row;
  }

  /**
   * What a page of a chat's messages needs of the chat (404 when unknown), reused for
   * {@link CHAT_KEY_TTL_MS}: a chat's instance and platform id never change, the owner only on a
   * reconnect — and a client paging back through a chat asks for the same chat many times.
   */
  async chatKey(id: string): Promise<ChatKey> {
    const now = Date.now();
    const cached = this.#keys.get(id);
    if (cached && now - cached.at < CHAT_KEY_TTL_MS) return cached.key;
    const row = await this.getChat(id);
    const key = {
      id: row.id,
      instance_id: row.instance_id,
      external_id: row.external_id,
      owner_identifier: row.owner_identifier,
    };
    if (this.#keys.size >= CHAT_KEY_CACHE_SIZE) {
      const oldest = this.#keys.keys().next().value;
      if (oldest !== undefined) this.#keys.delete(oldest);
    }
    this.#keys.delete(id);
    this.#keys.set(id, { at: now, key });
    return key;
  }

  /**
   * A page of a chat's messages, newest first, inside `after`…`before`, as the JSON text of Omni's
   * list (`{"items":[…],"meta":{…}}`): one prepared statement (message-page.ts) whose rows come as
   * text and are written into the answer as they are — no `Date`, no message object, no
   * `JSON.stringify` of the page. The items are what {@link toMessage} makes of the same rows.
   */
  async listMessages(
    chat: { id: string; instance_id: string; external_id: string },
    owner: string | null,
    filter: ListMessagesFilter,
    origin: string,
  ): Promise<string> {
    const { statement, values } = pageQuery(chat, owner, filter);
    const rows = await this.#prepared<MessagePageRow>(statement, values);
    return renderMessagePage(rows, filter.limit, chat, origin);
  }

  /**
   * {@link listMessages} as the answer's bytes, kept in the {@link MessagePageCache} (when this
   * `ChatReads` has one) until a change of what the page shows commits.
   */
  async messagePage(
    chat: { id: string; instance_id: string; external_id: string },
    owner: string | null,
    filter: ListMessagesFilter,
    origin: string,
  ): Promise<Buffer> {
    const { statement, values, cursorTime } = pageQuery(chat, owner, filter);
    const pages = this.#pages;
    const key = JSON.stringify([chat.id, statement.name, values, filter.limit, origin]);
    const kept = pages?.get(key);
    if (kept) return kept;
    const chatHash = pages ? createHash('md5').update(chat.external_id).digest('hex') : '';
    const ticket = pages?.ticket(chat.instance_id, chatHash) ?? null;
    const rows = await this.#prepared<MessagePageRow>(statement, values);
    const body = Buffer.from(renderMessagePage(rows, filter.limit, chat, origin));
    if (ticket) {
      // What can change this page: its chat's messages from the first one it does not show (its
      // going flips `hasMore`; anything older when none follow) up to its cursor or `before`.
      // Each upper bound holds alone (the page shows only messages below both); one that does not
      // parse, or a cursor time without a zone (Postgres reads it in its session's zone, JavaScript
      // in the process's), leaves its end open.
      const next = rows.length > filter.limit ? rows[filter.limit] : undefined;
      const lo = next ? msOfUtcText(next.sent_at) - 1 : Number.NaN;
      let hi = Infinity;
      for (const t of [
        cursorTime !== undefined && ZONED.test(cursorTime) ? cursorTime : undefined,
        filter.before,
      ]) {
        const ms = t === undefined ? Number.NaN : Date.parse(t) + 1;
        if (!Number.isNaN(ms)) hi = Math.min(hi, ms);
      }
      pages?.put(ticket, key, body, { chat: chatHash, lo: Number.isNaN(lo) ? -Infinity : lo, hi });
    }
    return body;
  }

  /** One message by id, with its chat's id; 404 when unknown. */
  async getMessage(id: string, origin: string) {
    if (!UUID.test(id)) throw ApiError.notFound('message', id);
    const row = await this.#messages()
      .innerJoin('chats as c', (join) =>
        join.onRef('c.instance_id', '=', 'm.instance_id').onRef('c.external_id', '=', 'm.chat_external_id'),
      )
      .select(['c.id as chat_id', 'm.instance_id', 'm.chat_external_id'])
      .where('m.id', '=', id)
      .executeTakeFirst();
    if (!row) throw ApiError.notFound('message', id);
    return toMessage(
      row,
      { id: row.chat_id, instance_id: row.instance_id, external_id: row.chat_external_id },
      origin,
    );
  }

  /**
   * Messages with what their Omni shape needs but their chat's keys (the caller joins them), the
   * owner read from the message's instance. The send time comes only as exact text (`sent_text`).
   */
  #messages() {
    const ownerId = sql`(select owner_identifier from instances where id = m.instance_id)`;
    return this.#db
      .selectFrom('messages as m')
      .select([
        'm.id',
        'm.external_id',
        'm.sender_id',
        'm.sender_name',
        'm.kind',
        'm.text',
        'm.reply_to_external_id',
        'm.has_media',
        'm.media_mime_type',
        'm.media_url',
        'm.media_local_path',
        'm.media_metadata',
        'm.source',
        'm.edited_at',
        'm.deleted_at',
        'm.created_at',
      ])
      .select(exact('m.sent_at').as('sent_text'))
      .select(MESSAGE_TYPE.as('message_type'))
      .select(
        sql<boolean>`coalesce((m.raw -> 'key' ->> 'fromMe')::boolean, m.sender_id is not null and m.sender_id = ${ownerId}, false)`.as(
          'is_from_me',
        ),
      );
  }

  /** Members of a chat: its group's participants (or its parent's: a guild's channel), or the other side of a DM. */
  async listParticipants(
    chat: {
      id: string;
      instance_id: string;
      external_id: string;
      parent_external_id: string | null;
      chat_type: string;
      created_at: Date;
      updated_at: Date;
    },
    limit: number,
    cursor: string | undefined,
  ) {
    if (chat.chat_type === 'dm') {
      const contact = await this.#db
        .selectFrom('contacts')
        .select(['name', 'push_name', 'avatar_url'])
        .where('instance_id', '=', chat.instance_id)
        .where('external_id', '=', chat.external_id)
        .executeTakeFirst();
      return {
        items: cursor
          ? []
          : [
              {
                id: `${chat.id}:${chat.external_id}`,
                chatId: chat.id,
                platformUserId: chat.external_id,
                displayName: contact?.name ?? contact?.push_name ?? null,
                avatarUrl: contact?.avatar_url ?? null,
                role: 'member',
                isPresent: true,
                createdAt: chat.created_at.toISOString(),
                updatedAt: chat.updated_at.toISOString(),
              },
            ],
        meta: { hasMore: false, cursor: null },
      };
    }
    const groups = [chat.external_id, ...(chat.parent_external_id ? [chat.parent_external_id] : [])];
    const owner = await this.#db
      .selectFrom('group_participants')
      .select('group_external_id')
      .where('instance_id', '=', chat.instance_id)
      .where('group_external_id', 'in', groups)
      .orderBy(sql`group_external_id = ${chat.external_id}`, 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!owner) return { items: [], meta: { hasMore: false, cursor: null } };
    let query = this.#db
      .selectFrom('group_participants as p')
      .leftJoin('contacts as ct', (join) =>
        join.onRef('ct.instance_id', '=', 'p.instance_id').onRef('ct.external_id', '=', 'p.participant_id'),
      )
      .select([
        'p.participant_id',
        'p.role',
        'p.is_present',
        'p.updated_at',
        'ct.name',
        'ct.push_name',
        'ct.avatar_url',
      ])
      .where('p.instance_id', '=', chat.instance_id)
      .where('p.group_external_id', '=', owner.group_external_id);
    if (cursor) {
      const parts = cursorOf(cursor, ['text']) as string[];
      query = query.where('p.participant_id', '>', parts[0] as string);
    }
    const rows = await query
      .orderBy('p.participant_id')
      .limit(limit + 1)
      .execute();
    const page = keysetPage(rows, limit, (last) => [last.participant_id]);
    return {
      items: page.page.map(
        (p): Static<typeof ChatParticipant> => ({
          id: `${chat.id}:${p.participant_id}`,
          chatId: chat.id,
          platformUserId: p.participant_id,
          displayName: p.name ?? p.push_name ?? null,
          avatarUrl: p.avatar_url ?? null,
          role: p.role,
          isPresent: p.is_present,
          createdAt: p.updated_at.toISOString(),
          updatedAt: p.updated_at.toISOString(),
        }),
      ),
      meta: { hasMore: page.hasMore, cursor: page.cursor },
    };
  }
}

type ChatRow = Awaited<ReturnType<ChatReads['getChat']>>;

/** A chat row as Omni shows it. */
export function toChat(row: ChatRow): Static<typeof Chat> {
  const metadata = (row.metadata ?? {}) as Record<string, unknown>;
  const chatType = row.chat_type as Static<typeof Chat>['chatType'];
  return {
    id: row.id,
    instanceId: row.instance_id,
    externalId: row.external_id,
    chatType,
    channel: row.channel,
    name: row.name,
    description: typeof metadata.description === 'string' ? metadata.description : null,
    avatarUrl: typeof metadata.avatarUrl === 'string' ? metadata.avatarUrl : null,
    isGroup: chatType === 'group' || chatType === 'community',
    isArchived: false,
    settings: null,
    lastMessageAt: iso(row.last_message_at),
    messageCount: Number(row.message_count),
    mediaCount: Number(row.media_count),
    altExternalId: row.alt_external_id,
    parentExternalId: row.parent_external_id,
    platformMetadata: metadata,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

interface MessageRow {
  id: string;
  external_id: string;
  sender_id: string | null;
  sender_name: string | null;
  /** `sent_at` as `YYYY-MM-DDTHH:MI:SS.ffffffZ` (UTC, microseconds). */
  sent_text: string;
  kind: string;
  text: string | null;
  reply_to_external_id: string | null;
  has_media: boolean;
  media_mime_type: string | null;
  media_url: string | null;
  media_local_path: string | null;
  media_metadata: Record<string, unknown> | null;
  source: 'sync' | 'live';
  edited_at: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  message_type: string;
  is_from_me: boolean;
}

/**
 * `Date#toISOString` of an exact UTC time `YYYY-MM-DDTHH:MI:SS.ffffffZ`: the same text, cut to
 * milliseconds (as a `Date` holds it), without parsing one.
 */
export function isoOfExact(exactText: string): string {
  return exactText.length === 27 && exactText.endsWith('Z')
    ? `${exactText.slice(0, 23)}Z`
    : new Date(exactText).toISOString();
}

/**
 * A message row of a chat as Omni shows it. `mediaUrl` is omni-sync's media route for the stored
 * file (absolute, on `origin`), the platform's URL stays in `metadata.platformMediaUrl`.
 */
export function toMessage(
  row: MessageRow,
  chat: { id: string; instance_id: string; external_id: string },
  origin: string,
): Static<typeof OmniMessage> {
  const updated = [row.created_at, row.edited_at, row.deleted_at].filter((d): d is Date => d !== null);
  return {
    id: row.id,
    chatId: chat.id,
    instanceId: chat.instance_id,
    externalId: row.external_id,
    chatExternalId: chat.external_id,
    source: row.source === 'live' ? 'realtime' : 'sync',
    messageType: row.message_type as Static<typeof OmniMessage>['messageType'],
    textContent: row.text,
    platformTimestamp: isoOfExact(row.sent_text),
    isFromMe: row.is_from_me === true,
    senderPlatformUserId: row.sender_id,
    senderDisplayName: row.sender_name,
    replyToExternalId: row.reply_to_external_id,
    hasMedia: row.has_media,
    mediaMimeType: row.media_mime_type,
    mediaUrl: row.media_local_path ? `${origin}${API_PREFIX_PATH}/media/${row.media_local_path}` : null,
    editedAt: iso(row.edited_at),
    deletedAt: iso(row.deleted_at),
    metadata: { kind: row.kind, platformMediaUrl: row.media_url, media: row.media_metadata },
    createdAt: row.created_at.toISOString(),
    updatedAt: new Date(Math.max(...updated.map((d) => d.getTime()))).toISOString(),
  };
}
