import type { ChangeSubscription, ListenChanges } from '@omni/db';

/** The channel the `messages` triggers notify on, with the chat and span a write touched (migration 0015). */
export const MESSAGES_CHANNEL = 'omni_messages';

/** Options of {@link MessagePageCache}. */
export interface MessagePageCacheOptions {
  /**
   * Bytes of pages kept at most — each page counts its answer's UTF-8 bytes, its key's length and
   * {@link PAGE_ENTRY_OVERHEAD} for what keeping it costs besides (so a flood of tiny pages under
   * distinct keys stays inside the bound too); the least recently used go first.
   * 0 keeps nothing (every page is read from the database).
   * @defaultValue 64 MiB
   */
  maxBytes?: number;
  /**
   * How long a page is kept at most, ms from the start of its read (its ticket), even with no
   * change heard: a backstop for writes that fire no triggers (triggers disabled by hand,
   * `session_replication_role = replica` as replication's apply and some restores set it). A feed
   * that stops delivering is found sooner, by its probe (`postgresListen`: every 10 s, 5 s to
   * answer), and then everything kept is dropped.
   * @defaultValue 300 000 (5 min)
   */
  maxAgeMs?: number;
}

/** Defaults of {@link MessagePageCacheOptions}. */
export const DEFAULT_MESSAGE_PAGE_CACHE_OPTIONS = {
  maxBytes: 64 * 1024 * 1024,
  maxAgeMs: 300_000,
} satisfies Required<MessagePageCacheOptions>;

/**
 * Bytes a kept page counts besides its answer and its key: its entry, the answer's `Buffer`, its
 * places in the cache's maps. Measured on Bun 1.4 with 100k empty pages (51-byte answers, 170-char
 * keys): ~1,080 bytes of RSS a page (~670 of heap) — counting the answer alone let 64 MiB of tiny
 * pages take ~1.4 GB; with this each such page counts ~730.
 */
export const PAGE_ENTRY_OVERHEAD = 512;

/** What {@link MessagePageCache.stats} counts since the cache was made. */
export interface MessagePageCacheStats {
  /** Pages answered from the cache. */
  hits: number;
  /** Pages read from the database. */
  misses: number;
  /** Pages kept now, and the bytes they count (answers, keys, {@link PAGE_ENTRY_OVERHEAD} each). */
  pages: number;
  bytes: number;
  /** Whether pages are kept now (the change feed listens). */
  listening: boolean;
}

/**
 * What a page shows: its chat (the md5 of its platform id, as the notifications name it) and the
 * `sent_at` span, epoch ms inclusive, where a change of the chat's messages can alter it — from the
 * first message after it (its going would flip `hasMore`; -∞ when no more follow: a message older
 * than every other would add a page after it) up to its cursor or `before` (+∞ for the newest page).
 */
export interface PageSpan {
  chat: string;
  lo: number;
  hi: number;
}

interface Entry extends PageSpan {
  instanceId: string;
  body: Buffer;
  /** Bytes it counts: body, key, {@link PAGE_ENTRY_OVERHEAD}. */
  cost: number;
  at: number;
}

/** Taken before a page is read; a page may be kept only if nothing of its chat changed in between. */
export interface PageTicket {
  readonly instanceId: string;
  readonly chat: string;
  readonly epoch: number;
  readonly instanceGeneration: number;
  readonly chatGeneration: number;
  /** When it was taken (`Date.now()`): a page's age counts from here, the start of its read. */
  readonly at: number;
}

/** A chat's key in the cache's maps (`instance chat`): tickets, pages and changes must agree on it. */
const chatKeyOf = (instanceId: string, chat: string): string => `${instanceId} ${chat}`;

/** Chats whose changes are counted at most; past it everything is dropped and counting restarts. */
const MAX_COUNTED_CHATS = 100_000;

/** A notification: one chat's span, or the whole instance (`chat` null). */
function parseChange(
  payload: string,
): { instanceId: string; chat: string | null; lo: number; hi: number } | null {
  const parts = payload.split(' ');
  if (parts.length === 1 && parts[0])
    return { instanceId: parts[0], chat: null, lo: -Infinity, hi: Infinity };
  if (parts.length !== 4) return null;
  const [instanceId, chat, lo, hi] = parts as [string, string, string, string];
  const from = Number(lo);
  const to = Number(hi);
  if (!instanceId || !chat || Number.isNaN(from) || Number.isNaN(to)) return null;
  return { instanceId, chat, lo: from, hi: to };
}

/**
 * Message pages as answered (their JSON bytes), kept until a change of what they show commits.
 * Every statement that writes `messages` — a sync batch, pushed history, a media file stored, an
 * edit, a deletion, in any process of the fleet — notifies {@link MESSAGES_CHANNEL} when it commits
 * (migration 0015): per chat it touched, the span of `sent_at` it touched (or the whole instance
 * when it touched more than 100 chats; a `TRUNCATE` sends an empty payload, migration 0016). The
 * cache listens and drops the pages of that chat whose {@link PageSpan} meets the span: a new
 * message drops a chat's newest page, not the pages behind it; a write to another chat drops
 * nothing of this one. It keeps pages only while it listens:
 * before the subscription is up, and from a lost connection until it is back (when everything kept
 * is dropped), every page is read from the database. A page read while its chat changed is not
 * kept (a {@link PageTicket} taken before the read says so). What a reader can see is therefore what
 * the database held at most one notification's delivery ago — the same as a read that started a
 * moment earlier — and never older than `maxAgeMs`.
 *
 * The subscription opens with the first {@link ticket} (a process that serves no page holds no
 * connection for it) and closes with {@link close}.
 *
 * @example
 * ```ts
 * const pages = new MessagePageCache(omniDb.listen);
 * const hit = pages.get(key);
 * if (hit) return hit;
 * const ticket = pages.ticket(instanceId, md5(chatExternalId));
 * const body = Buffer.from(await readPage());
 * pages.put(ticket, key, body, { chat: md5(chatExternalId), lo: nextMessageMs, hi: cursorMs });
 * ```
 */
export class MessagePageCache {
  readonly #listen: ListenChanges;
  readonly #options: Required<MessagePageCacheOptions>;
  readonly #entries = new Map<string, Entry>();
  /** Keys of each chat's kept pages, by `instance chat`. */
  readonly #keysOfChat = new Map<string, Set<string>>();
  /** Chats (`instance chat`) with pages kept, by instance. */
  readonly #chatsOf = new Map<string, Set<string>>();
  /** Changes heard since the feed last started listening: whole instances, and chats (`instance chat`). */
  readonly #instanceGenerations = new Map<string, number>();
  readonly #chatGenerations = new Map<string, number>();
  #bytes = 0;
  /** Grows when the feed starts or stops listening: a ticket from another epoch keeps nothing. */
  #epoch = 0;
  #listening = false;
  #subscription: ChangeSubscription | null = null;
  #closed = false;
  #hits = 0;
  #misses = 0;

  constructor(listen: ListenChanges, options: MessagePageCacheOptions = {}) {
    this.#listen = listen;
    this.#options = { ...DEFAULT_MESSAGE_PAGE_CACHE_OPTIONS, ...options };
  }

  /** The page kept under `key`, if it is still current. */
  get(key: string): Buffer | undefined {
    const entry = this.#entries.get(key);
    if (!entry) {
      this.#misses += 1;
      return undefined;
    }
    if (!this.#listening || Date.now() - entry.at > this.#options.maxAgeMs) {
      this.#drop(key, entry);
      this.#misses += 1;
      return undefined;
    }
    // Most recently used last: eviction takes the first.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#hits += 1;
    return entry.body;
  }

  /**
   * Taken before reading a page of `chat` (the md5 of its platform id) of `instanceId`; `null` when
   * no page can be kept now.
   */
  ticket(instanceId: string, chat: string): PageTicket | null {
    if (this.#options.maxBytes <= 0 || this.#closed) return null;
    if (!this.#subscription) this.#subscribe();
    if (!this.#listening) return null;
    return {
      instanceId,
      chat,
      epoch: this.#epoch,
      instanceGeneration: this.#instanceGenerations.get(instanceId) ?? 0,
      chatGeneration: this.#chatGenerations.get(chatKeyOf(instanceId, chat)) ?? 0,
      at: Date.now(),
    };
  }

  /**
   * Keeps a page read under `ticket` with what it shows (`span`: its chat must be the ticket's),
   * unless its chat or instance changed (or the feed stopped) since the ticket.
   */
  put(ticket: PageTicket | null, key: string, body: Buffer, span: PageSpan): void {
    if (!ticket || !this.#listening || ticket.epoch !== this.#epoch || span.chat !== ticket.chat) return;
    const chatKey = chatKeyOf(ticket.instanceId, ticket.chat);
    if ((this.#instanceGenerations.get(ticket.instanceId) ?? 0) !== ticket.instanceGeneration) return;
    if ((this.#chatGenerations.get(chatKey) ?? 0) !== ticket.chatGeneration) return;
    const cost = body.length + key.length + PAGE_ENTRY_OVERHEAD;
    if (cost > this.#options.maxBytes) return;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old);
    while (this.#bytes + cost > this.#options.maxBytes) {
      const oldest = this.#entries.entries().next().value;
      if (!oldest) break;
      this.#drop(oldest[0], oldest[1]);
    }
    this.#entries.set(key, {
      instanceId: ticket.instanceId,
      chat: span.chat,
      lo: span.lo,
      hi: span.hi,
      body,
      cost,
      at: ticket.at,
    });
    this.#bytes += cost;
    let keys = this.#keysOfChat.get(chatKey);
    if (!keys) {
      keys = new Set();
      this.#keysOfChat.set(chatKey, keys);
    }
    keys.add(key);
    let chats = this.#chatsOf.get(ticket.instanceId);
    if (!chats) {
      chats = new Set();
      this.#chatsOf.set(ticket.instanceId, chats);
    }
    chats.add(chatKey);
  }

  stats(): MessagePageCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      pages: this.#entries.size,
      bytes: this.#bytes,
      listening: this.#listening,
    };
  }

  /** Stops listening and drops every page. */
  async close(): Promise<void> {
    this.#closed = true;
    const subscription = this.#subscription;
    this.#subscription = null;
    this.#setListening(false);
    await subscription?.close();
  }

  #subscribe(): void {
    this.#subscription = this.#listen(MESSAGES_CHANNEL, {
      notify: (payload) => this.#changed(payload),
      listening: (on) => this.#setListening(on && !this.#closed),
    });
  }

  #setListening(on: boolean): void {
    if (on === this.#listening) return;
    this.#listening = on;
    this.#reset();
  }

  /** Drops every page; tickets taken before keep nothing. */
  #reset(): void {
    this.#epoch += 1;
    this.#entries.clear();
    this.#keysOfChat.clear();
    this.#chatsOf.clear();
    this.#instanceGenerations.clear();
    this.#chatGenerations.clear();
    this.#bytes = 0;
  }

  /**
   * A change committed (a notification of migration 0015): the pages it can alter go, and pages
   * of its chat (or instance) being read now are not kept. A payload that cannot be read drops
   * everything.
   */
  #changed(payload: string): void {
    const change = parseChange(payload);
    if (!change) {
      this.#reset();
      return;
    }
    const { instanceId, chat } = change;
    if (chat === null) {
      this.#instanceGenerations.set(instanceId, (this.#instanceGenerations.get(instanceId) ?? 0) + 1);
      for (const chatKey of this.#chatsOf.get(instanceId) ?? []) {
        for (const key of this.#keysOfChat.get(chatKey) ?? []) {
          const entry = this.#entries.get(key);
          if (entry) this.#drop(key, entry);
        }
      }
      return;
    }
    const chatKey = chatKeyOf(instanceId, chat);
    if (!this.#chatGenerations.has(chatKey) && this.#chatGenerations.size >= MAX_COUNTED_CHATS) {
      this.#reset();
      return;
    }
    this.#chatGenerations.set(chatKey, (this.#chatGenerations.get(chatKey) ?? 0) + 1);
    for (const key of this.#keysOfChat.get(chatKey) ?? []) {
      const entry = this.#entries.get(key);
      if (entry && entry.lo <= change.hi && change.lo <= entry.hi) this.#drop(key, entry);
    }
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.cost;
    const chatKey = chatKeyOf(entry.instanceId, entry.chat);
    const keys = this.#keysOfChat.get(chatKey);
    if (keys) {
      keys.delete(key);
      if (keys.size === 0) {
        this.#keysOfChat.delete(chatKey);
        const chats = this.#chatsOf.get(entry.instanceId);
        chats?.delete(chatKey);
        if (chats?.size === 0) this.#chatsOf.delete(entry.instanceId);
      }
    }
  }
}
