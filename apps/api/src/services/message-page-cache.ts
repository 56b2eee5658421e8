import type { ChangeSubscription, ListenChanges } from '@omni/db';

/** The notification channel the `messages` triggers send an instance's id on (migration 0015). */
export const MESSAGES_CHANNEL = 'omni_messages';

/** Options of {@link MessagePageCache}. */
export interface MessagePageCacheOptions {
  /**
   * Bytes of pages kept at most (the answers' UTF-8 bytes); the least recently used go first.
   * 0 keeps nothing (every page is read from the database).
   * @defaultValue 64 MiB
   */
  maxBytes?: number;
  /**
   * How long a page is kept at most, ms, even with no change heard: bounds what a change feed that
   * stalls without losing its connection could leave behind.
   * @defaultValue 30 000
   */
  maxAgeMs?: number;
}

/** Defaults of {@link MessagePageCacheOptions}. */
export const DEFAULT_MESSAGE_PAGE_CACHE_OPTIONS = {
  maxBytes: 64 * 1024 * 1024,
  maxAgeMs: 30_000,
} satisfies Required<MessagePageCacheOptions>;

/** What {@link MessagePageCache.stats} counts since the cache was made. */
export interface MessagePageCacheStats {
  /** Pages answered from the cache. */
  hits: number;
  /** Pages read from the database. */
  misses: number;
  /** Pages kept now, and their bytes. */
  pages: number;
  bytes: number;
  /** Whether pages are kept now (the change feed listens). */
  listening: boolean;
}

interface Entry {
  instanceId: string;
  body: Buffer;
  at: number;
}

/** Taken before a page is read; a page may be kept only if nothing changed in between. */
export interface PageTicket {
  readonly instanceId: string;
  readonly epoch: number;
  readonly generation: number;
}

/**
 * Message pages as answered (their JSON bytes), kept until a message of their instance changes.
 * Every statement that writes `messages` — a sync batch, pushed history, a media file stored, an
 * edit, a deletion, in any process of the fleet — notifies the instance's id on
 * {@link MESSAGES_CHANNEL} when it commits (migration 0015); the cache listens and drops the
 * instance's pages. It keeps pages only while it listens: before the subscription is up, and from a
 * lost connection until it is back (when everything kept is dropped), every page is read from the
 * database. A page read while its instance changed is not kept (a {@link PageTicket} taken before
 * the read says so). What a reader can see is therefore what the database held at most one
 * notification's delivery ago — the same as a read that started a moment earlier — and never
 * older than `maxAgeMs`.
 *
 * The subscription opens with the first {@link ticket} (a process that serves no page holds no
 * connection for it) and closes with {@link close}.
 *
 * @example
 * ```ts
 * const pages = new MessagePageCache(omniDb.listen);
 * const hit = pages.get(key);
 * if (hit) return hit;
 * const ticket = pages.ticket(instanceId);
 * const body = Buffer.from(await readPage());
 * pages.put(ticket, key, body);
 * ```
 */
export class MessagePageCache {
  readonly #listen: ListenChanges;
  readonly #options: Required<MessagePageCacheOptions>;
  readonly #entries = new Map<string, Entry>();
  /** Keys of each instance's kept pages. */
  readonly #keysOf = new Map<string, Set<string>>();
  /** Changes heard per instance since the feed last started listening. */
  readonly #generations = new Map<string, number>();
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

  /** Taken before reading a page of `instanceId`; `null` when no page can be kept now. */
  ticket(instanceId: string): PageTicket | null {
    if (this.#options.maxBytes <= 0 || this.#closed) return null;
    if (!this.#subscription) this.#subscribe();
    if (!this.#listening) return null;
    return { instanceId, epoch: this.#epoch, generation: this.#generations.get(instanceId) ?? 0 };
  }

  /** Keeps a page read under `ticket`, unless its instance changed (or the feed stopped) since. */
  put(ticket: PageTicket | null, key: string, body: Buffer): void {
    if (!ticket || !this.#listening || ticket.epoch !== this.#epoch) return;
    if ((this.#generations.get(ticket.instanceId) ?? 0) !== ticket.generation) return;
    if (body.length > this.#options.maxBytes) return;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old);
    while (this.#bytes + body.length > this.#options.maxBytes) {
      const oldest = this.#entries.entries().next().value;
      if (!oldest) break;
      this.#drop(oldest[0], oldest[1]);
    }
    this.#entries.set(key, { instanceId: ticket.instanceId, body, at: Date.now() });
    this.#bytes += body.length;
    let keys = this.#keysOf.get(ticket.instanceId);
    if (!keys) {
      keys = new Set();
      this.#keysOf.set(ticket.instanceId, keys);
    }
    keys.add(key);
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
      notify: (instanceId) => this.#changed(instanceId),
      listening: (on) => this.#setListening(on && !this.#closed),
    });
  }

  #setListening(on: boolean): void {
    if (on === this.#listening) return;
    this.#listening = on;
    this.#epoch += 1;
    this.#entries.clear();
    this.#keysOf.clear();
    this.#generations.clear();
    this.#bytes = 0;
  }

  /** A change of an instance's messages committed: its pages go, and pages being read are not kept. */
  #changed(instanceId: string): void {
    const keys = this.#keysOf.get(instanceId);
    if (keys) {
      for (const key of keys) {
        const entry = this.#entries.get(key);
        if (entry) {
          this.#entries.delete(key);
          this.#bytes -= entry.body.length;
        }
      }
      this.#keysOf.delete(instanceId);
    }
    this.#generations.set(instanceId, (this.#generations.get(instanceId) ?? 0) + 1);
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.body.length;
    const keys = this.#keysOf.get(entry.instanceId);
    if (keys) {
      keys.delete(key);
      if (keys.size === 0) this.#keysOf.delete(entry.instanceId);
    }
  }
}
