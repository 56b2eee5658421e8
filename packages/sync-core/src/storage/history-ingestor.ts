import type { Database } from '@omni/db';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { PushedHistory } from '../contract/channel-plugin.ts';
import { extendLiveCoverage } from '../coverage/coverage-ledger.ts';
import { type DedupeWriter, type StatementExtras, writesInOneStatement } from './dedupe-writer.ts';
import { type ChatUpsert, DirectoryWriter, type UpsertCounts } from './directory-writer.ts';
import { LidMappingStore, lidMappingsUpsert } from './lid-mapping-store.ts';
import type { InsertedMessage, WriteBatchResult } from './write-batch.ts';

/** What one pushed chunk changed. */
export interface IngestResult {
  messages: Omit<WriteBatchResult, 'inserted'>;
  chats: UpsertCounts;
  contacts: UpsertCounts;
  /** `lid_mappings`: new LIDs (`created`) and LIDs whose phone number changed (`updated`). */
  lidMappings: UpsertCounts;
  /** Chats whose coverage a live chunk extended (edge `live`). */
  liveChats: number;
}

/** How {@link HistoryIngestor.ingest} runs its `claim`. */
export interface IngestClaimOptions {
  /** Run the claim after the writes (so it may wait for something running meanwhile). @defaultValue false */
  claimLast?: boolean;
  /**
   * Called once the chunk's messages statement is on its way to the server, before its answer:
   * work started here overlaps with the largest write instead of adding to it.
   * @defaultValue none
   */
  whileWriting?: () => void;
}

/** Options of {@link HistoryIngestor}. */
export interface HistoryIngestorOptions {
  /**
   * Called after a chunk committed with the rows it created (e.g. to queue base64 media).
   * @defaultValue no-op
   */
  onInserted?: (instanceId: string, rows: InsertedMessage[]) => void | Promise<void>;
}

/** Defaults of {@link HistoryIngestorOptions}. */
export const DEFAULT_HISTORY_INGESTOR_OPTIONS = {
  onInserted: () => {},
} satisfies Required<HistoryIngestorOptions>;

/**
 * Stores history a platform pushes by itself (WhatsApp `messaging-history.set`), without a job:
 * messages through the dedupe writer (source `sync`; `live` for messages received live), chats into
 * `chats`, contacts into `contacts`, LID ↔ phone pairs into `lid_mappings`, and for messages
 * received live the chat's coverage up to them (edge `live`, see `extendLiveCoverage`), all in one
 * transaction. Chunks can repeat: a repeated chunk stores nothing new.
 *
 * @example
 * ```ts
 * const ingestor = new HistoryIngestor(db, new DedupeWriter(db));
 * if (hasHistoryPush(plugin)) plugin.setHistoryHandler((chunk) => ingestor.ingest(chunk).then(() => {}));
 * ```
 */
export class HistoryIngestor {
  readonly #db: Kysely<Database>;
  readonly #writer: DedupeWriter;
  readonly #directory = new DirectoryWriter();
  readonly #lids: LidMappingStore;
  readonly #options: Required<HistoryIngestorOptions>;

  constructor(db: Kysely<Database>, writer: DedupeWriter, options: HistoryIngestorOptions = {}) {
    this.#db = db;
    this.#writer = writer;
    this.#lids = new LidMappingStore(db);
    this.#options = { ...DEFAULT_HISTORY_INGESTOR_OPTIONS, ...options };
  }

  /**
   * Stores one pushed chunk idempotently. `claim`, when given, runs in the chunk's transaction —
   * first, or after the writes with `claimLast` (so it may wait for something running meanwhile;
   * `whileWriting` is the moment to start that something);
   * when it answers false nothing is written and the result is `null` (the {@link HistoryInbox}
   * claims its row this way, so the row goes when the chunk is stored).
   */
  async ingest(chunk: PushedHistory): Promise<IngestResult>;
  async ingest(
    chunk: PushedHistory,
    claim: (trx: Transaction<Database>) => Promise<boolean>,
    options?: IngestClaimOptions,
  ): Promise<IngestResult | null>;
  async ingest(
    chunk: PushedHistory,
    claim?: (trx: Transaction<Database>) => Promise<boolean>,
    options: IngestClaimOptions = {},
  ): Promise<IngestResult | null> {
    if (!claim && this.storesInOneStatement(chunk)) return (await this.ingestInOneStatement(chunk)).result;
    const instanceId = chunk.instanceId;
    const { newest, chats } = chatsOf(chunk);
    const unclaimed = Symbol('unclaimed');
    const written = await this.#db
      .transaction()
      .execute(async (trx) => {
        if (claim && !options.claimLast && !(await claim(trx))) return null;
        const lidCounts = await this.#lids.upsertIn(trx, instanceId, chunk.lidMappings ?? []);
        const chatCounts = await this.#directory.upsertChats(trx, instanceId, chats);
        const contactCounts = await this.#directory.upsertContacts(
          trx,
          instanceId,
          chunk.contacts,
          new Date(),
        );
        const writing = this.#writer.writeBatchIn(trx, {
          instanceId,
          messages: chunk.messages,
          source: chunk.syncType === 'LIVE' ? 'live' : 'sync',
        });
        // A macrotask: it runs once the statement was sent and the process waits for the answer.
        if (options.whileWriting) setImmediate(options.whileWriting);
        const result = await writing;
        let liveChats = 0;
        if (chunk.syncType === 'LIVE' && typeof chunk.liveSince === 'number') {
          for (const [chat, ts] of newest) {
            if (await extendLiveCoverage(trx, instanceId, chat, chunk.liveSince, ts)) liveChats += 1;
          }
        }
        // Claimed last and not ours after all: roll the writes back.
        if (claim && options.claimLast && !(await claim(trx))) throw unclaimed;
        return { result, chatCounts, contactCounts, lidCounts, liveChats };
      })
      .catch((error: unknown) => {
        if (error === unclaimed) return null;
        throw error;
      });
    if (!written) return null;
    const { result, chatCounts, contactCounts, lidCounts, liveChats } = written;
    if (result.inserted.length > 0) await this.#options.onInserted(instanceId, result.inserted);
    const { inserted: _, ...messages } = result;
    return { messages, chats: chatCounts, contacts: contactCounts, lidMappings: lidCounts, liveChats };
  }

  /**
   * Whether {@link ingestInOneStatement} can store the chunk: no edit or revoke among its messages
   * (those take several statements) and not a live chunk that extends coverage.
   */
  storesInOneStatement(chunk: PushedHistory): boolean {
    if (chunk.syncType === 'LIVE' && typeof chunk.liveSince === 'number') return false;
    return writesInOneStatement(chunk.messages);
  }

  /**
   * Stores a chunk {@link storesInOneStatement} accepts in ONE autocommitted statement: the
   * `lid_mappings`, `chats` and `contacts` upserts run as data-modifying CTEs of the dedupe
   * writer's messages statement (no `BEGIN`/`COMMIT`, one round trip), with the same result as
   * {@link ingest}'s transaction. `extras` ride along and commit with it (their counts come back in
   * `counts`); `whileWriting` is called once the statement is on its way. Throws when the chunk
   * does not qualify.
   */
  async ingestInOneStatement(
    chunk: PushedHistory,
    options: { extras?: StatementExtras; whileWriting?: () => void } = {},
  ): Promise<{ result: IngestResult; counts: Record<string, number> }> {
    if (!this.storesInOneStatement(chunk)) throw new Error('this chunk is not stored in one statement');
    const instanceId = chunk.instanceId;
    const { chats } = chatsOf(chunk);
    const ctes: RawBuilder<unknown>[] = [...(options.extras?.ctes ?? [])];
    const counts: Record<string, RawBuilder<unknown>> = { ...options.extras?.counts };
    const upserts: [string, RawBuilder<{ created: boolean }> | null][] = [
      ['hi_lids', lidMappingsUpsert(instanceId, chunk.lidMappings ?? [])],
      ['hi_chats', this.#directory.chatsUpsert(instanceId, chats)],
      ['hi_contacts', this.#directory.contactsUpsert(instanceId, chunk.contacts, new Date())],
    ];
    for (const [name, statement] of upserts) {
      if (!statement) continue;
      const cte = sql.raw(name);
      ctes.push(sql`${cte} as (${statement})`);
      counts[`${name}_created`] = sql`select count(*) from ${cte} where created`;
      counts[`${name}_updated`] = sql`select count(*) from ${cte} where not created`;
    }
    const written = await this.#writer.writeBatchWith(
      {
        instanceId,
        messages: chunk.messages,
        source: chunk.syncType === 'LIVE' ? 'live' : 'sync',
      },
      { ctes, counts },
      options.whileWriting,
    );
    if (!written) throw new Error('this chunk is not stored in one statement');
    const { result, counts: read } = written;
    const upserted = (name: string): UpsertCounts => ({
      created: read[`${name}_created`] ?? 0,
      updated: read[`${name}_updated`] ?? 0,
    });
    if (result.inserted.length > 0) await this.#options.onInserted(instanceId, result.inserted);
    const { inserted: _, ...messages } = result;
    return {
      result: {
        messages,
        chats: upserted('hi_chats'),
        contacts: upserted('hi_contacts'),
        lidMappings: upserted('hi_lids'),
        liveChats: 0,
      },
      counts: read,
    };
  }
}

/** Each chat's newest message time in the chunk, and the chats to upsert (listed or seen on a message). */
function chatsOf(chunk: PushedHistory): { newest: Map<string, number>; chats: ChatUpsert[] } {
  const newest = new Map<string, number>();
  for (const m of chunk.messages) {
    if (!Number.isFinite(m.timestamp)) continue;
    newest.set(m.chatId, Math.max(newest.get(m.chatId) ?? m.timestamp, m.timestamp));
  }
  const listed = new Set<string>(chunk.chats.map((c) => c.id));
  const chats: ChatUpsert[] = [
    ...chunk.chats.map((chat) => ({ chat, lastMessageAt: newest.get(chat.id) ?? null })),
    ...[...newest.entries()]
      .filter(([id]) => !listed.has(id))
      .map(([id, ts]) => ({ chat: { id: id as ChatUpsert['chat']['id'] }, lastMessageAt: ts })),
  ];
  return { newest, chats };
}
