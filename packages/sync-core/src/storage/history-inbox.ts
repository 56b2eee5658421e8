import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import type { Database } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import type { PushedHistory } from '../contract/channel-plugin.ts';
import type { StatementExtras } from './dedupe-writer.ts';
import type { HistoryIngestor, IngestResult } from './history-ingestor.ts';

/** zstd level of an inbox row: the fastest; a history chunk's JSON still shrinks about tenfold. */
const BODY_LEVEL = 1;

/** A batch as an inbox row's `body`: its JSON, zstd-compressed. */
function encodeBatch(batch: PushedHistory): Buffer {
  return zstdCompressSync(JSON.stringify(batch), {
    params: { [constants.ZSTD_c_compressionLevel]: BODY_LEVEL },
  });
}

/** The batch of an inbox row: `body` (compressed JSON), or `payload` (JSON text, rows from before 0014). */
function decodeBatch(row: { payload: string | null; body: Uint8Array | null }): PushedHistory {
  const json = row.body ? zstdDecompressSync(row.body).toString('utf8') : (row.payload ?? 'null');
  return JSON.parse(json) as PushedHistory;
}

/** A row of the inbox as {@link HistoryInbox.pending} lists it. */
export interface InboxEntry {
  id: string;
  instanceId: string;
  syncType: string;
  messages: number;
}

/** Options of {@link HistoryInbox}. */
export interface HistoryInboxOptions {
  /**
   * How long after a chunk {@link HistoryInbox.putAndCommit} stored without a transaction the rows
   * of stored chunks still waiting to be deleted are deleted by themselves (when no next chunk took
   * them along first), ms.
   * @defaultValue 200
   */
  idleDeleteMs?: number;
}

/** Defaults of {@link HistoryInboxOptions}. */
export const DEFAULT_HISTORY_INBOX_OPTIONS = {
  idleDeleteMs: 200,
} satisfies Required<HistoryInboxOptions>;

/**
 * Pushed history written down before it is processed (`history_inbox`), so nothing a platform
 * pushes once is lost to an outage or a restart: {@link put} stores the batch, {@link commit} stores
 * it through the {@link HistoryIngestor} and deletes its row in the same transaction, and
 * {@link replay} commits what an earlier process left behind. A row is claimed with a row lock, so
 * two processes replaying at once store each batch once (a repeat would be harmless anyway: the
 * ingestor is idempotent).
 *
 * {@link putAndCommit} (a batch just received, on Postgres) writes the row beside the storing and,
 * for the common chunk, deletes it lazily: the row of a stored chunk goes with the next chunk's
 * statement, or {@link HistoryInboxOptions.idleDeleteMs} after the last one, or at
 * {@link flushDeletes} (shutdown). A row left by a crash in between is replayed at the next start,
 * which stores nothing new (the chunk was stored: its messages count as duplicates).
 *
 * @example
 * ```ts
 * const inbox = new HistoryInbox(db, new HistoryIngestor(db, new DedupeWriter(db)));
 * await inbox.replay();                       // at start: what the last run left
 * plugin.setHistoryHandler(async (batch) => {
 *   const id = await inbox.put(batch);        // durable first
 *   await inbox.commit(id, batch);            // then stored; the row goes in the same transaction
 * });
 * ```
 */
export class HistoryInbox {
  readonly #db: Kysely<Database>;
  readonly #ingestor: HistoryIngestor;
  readonly #options: Required<HistoryInboxOptions>;
  /** Rows whose chunk is stored (committed) and which are written: to delete, lazily. */
  readonly #stored = new Set<string>();
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** The idle delete running now, if any. */
  #flushing: Promise<number> | null = null;

  constructor(db: Kysely<Database>, ingestor: HistoryIngestor, options: HistoryInboxOptions = {}) {
    this.#db = db;
    this.#ingestor = ingestor;
    this.#options = { ...DEFAULT_HISTORY_INBOX_OPTIONS, ...options };
  }

  /** Writes a batch down (one statement, committed on return); its row id. */
  async put(batch: PushedHistory): Promise<string> {
    const row = await this.#db
      .insertInto('history_inbox')
      .values({
        instance_id: batch.instanceId,
        sync_type: batch.syncType,
        messages: batch.messages.length,
        body: encodeBatch(batch),
      })
      .returning(sql<string>`id::text`.as('id'))
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /**
   * Stores the batch of row `id` and deletes the row, in one transaction. Waits for a process
   * replaying that row at the same moment; `null` when the row is gone (stored already).
   */
  commit(id: string, batch: PushedHistory): Promise<IngestResult | null> {
    return this.#ingestor.ingest(batch, async (trx) => {
      const claimed = await sql`delete from history_inbox where id = ${id}::bigint returning id`.execute(trx);
      return claimed.rows.length > 0;
    });
  }

  /**
   * {@link put} and the storing side by side, for a batch just received: the batch is written to the
   * inbox (its own statement, committed synchronously, on another connection) while it is stored —
   * the write starts once the storing's messages statement is on its way, so encoding the row
   * overlaps with the largest write. On failure of the storing, `inboxId` tells whether the inbox
   * write got through (then {@link commit} it later); a write not started by then is not started at
   * all.
   *
   * The common chunk (no edits or revokes, not a live chunk extending coverage: see
   * `HistoryIngestor.storesInOneStatement`) is stored in ONE autocommitted statement, which also
   * deletes the rows of chunks stored before ({@link pendingDeletes}); this chunk's row, once both
   * it is written and the chunk is stored, joins those (deleted by the next chunk's statement, or
   * after {@link HistoryInboxOptions.idleDeleteMs}). `inboxId` is then that row (`null` if its write
   * failed or never started: the chunk is stored all the same; a row whose write failed after it
   * committed stays until the next replay, which stores nothing new). Any other chunk is stored as
   * before: a transaction that deletes the row and commits only once the row is written.
   */
  async putAndCommit(batch: PushedHistory): Promise<{ inboxId: string | null; error: unknown }> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const inbox: { put: Promise<string> | null; id: string | null; open: boolean } = {
      put: null,
      id: null,
      open: true,
    };
    const startPut = (): Promise<string> => {
      if (!inbox.put) {
        inbox.put = this.put(batch).then((id) => {
          inbox.id = id;
          return id;
        });
        // Awaited by the claim or below; its failure must not go unhandled while the storing fails first.
        inbox.put.catch(() => {});
      }
      return inbox.put;
    };
    const whileWriting = () => {
      if (inbox.open) void startPut();
    };
    if (this.#ingestor.storesInOneStatement(batch)) {
      const deleting = [...this.#stored];
      try {
        await this.#ingestor.ingestInOneStatement(batch, {
          extras: deleting.length > 0 ? deleteRows(deleting) : undefined,
          whileWriting,
        });
      } catch (error) {
        inbox.open = false;
        await inbox.put?.catch(() => null);
        // The rows the statement would have deleted wait for the next chunk or the idle delete.
        this.#scheduleIdleDelete();
        return { inboxId: inbox.id, error };
      }
      // Stored. A row not started yet is not needed any more; one on its way is deleted once written.
      inbox.open = false;
      for (const id of deleting) this.#stored.delete(id);
      const id = inbox.put ? await inbox.put.catch(() => null) : null;
      if (id !== null) this.#stored.add(id);
      this.#scheduleIdleDelete();
      return { inboxId: id, error: null };
    }
    try {
      await this.#ingestor.ingest(
        batch,
        async (trx) => {
          const id = await startPut();
          const claimed = await sql`delete from history_inbox where id = ${id}::bigint returning id`.execute(
            trx,
          );
          return claimed.rows.length > 0;
        },
        { claimLast: true, whileWriting },
      );
      return { inboxId: inbox.id, error: null };
    } catch (error) {
      inbox.open = false;
      await inbox.put?.catch(() => null);
      return { inboxId: inbox.id, error };
    } finally {
      inbox.open = false;
      if (this.#stored.size > 0) this.#scheduleIdleDelete();
    }
  }

  /** Rows of chunks {@link putAndCommit} stored that are not deleted yet, oldest first. */
  pendingDeletes(): string[] {
    return [...this.#stored];
  }

  /**
   * Deletes the rows of stored chunks still waiting ({@link pendingDeletes}) now, in one statement;
   * how many it deleted. At shutdown, before the database closes (left behind, they are harmless:
   * the next start replays them, storing nothing new). Throws when the delete fails (the rows stay
   * pending).
   */
  async flushDeletes(): Promise<number> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    await this.#flushing?.catch(() => 0);
    const ids = [...this.#stored];
    if (ids.length === 0) return 0;
    const { ctes, counts } = deleteRows(ids);
    const result = await sql<{
      n: string;
    }>`with ${sql.join(ctes)} select (${counts.inboxDeleted})::text as n`.execute(this.#db);
    for (const id of ids) this.#stored.delete(id);
    return Number(result.rows[0]?.n ?? 0);
  }

  #scheduleIdleDelete(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#stored.size === 0) return;
    const timer = setTimeout(() => {
      if (this.#idleTimer !== timer) return;
      this.#idleTimer = null;
      const flushing = this.flushDeletes();
      this.#flushing = flushing;
      // Failing here is harmless: the rows stay pending (the next chunk or flush retries them).
      void flushing
        .catch(() => 0)
        .finally(() => {
          if (this.#flushing === flushing) this.#flushing = null;
        });
    }, this.#options.idleDeleteMs);
    timer.unref?.();
    this.#idleTimer = timer;
  }

  /** Rows waiting to be stored, oldest first (all instances, or one). */
  async pending(instanceId?: string): Promise<InboxEntry[]> {
    let query = this.#db
      .selectFrom('history_inbox')
      .select([sql<string>`id::text`.as('id'), 'instance_id', 'sync_type', 'messages'])
      .orderBy('id');
    if (instanceId) query = query.where('instance_id', '=', instanceId);
    const rows = await query.execute();
    return rows.map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      syncType: r.sync_type,
      messages: r.messages,
    }));
  }

  /**
   * Stores every waiting row (all instances, or one), oldest first, each in its own transaction
   * that deletes it; rows another process holds right now are skipped (it stores them). A row that
   * fails stays for the next replay and is reported to `onError`; the others go on. Returns how
   * many rows this call stored.
   */
  async replay(
    instanceId?: string,
    onError: (entry: InboxEntry, error: unknown) => void = () => {},
  ): Promise<number> {
    let stored = 0;
    for (const entry of await this.pending(instanceId)) {
      try {
        if (await this.#replayOne(entry)) stored += 1;
      } catch (error) {
        onError(entry, error);
      }
    }
    return stored;
  }

  async #replayOne(entry: InboxEntry): Promise<boolean> {
    const row = await this.#db
      .selectFrom('history_inbox')
      .select(['payload', 'body'])
      .where(sql<boolean>`id = ${entry.id}::bigint`)
      .executeTakeFirst();
    if (!row) return false;
    const result = await this.#ingestor.ingest(decodeBatch(row), async (trx) => {
      const claimed = await sql`delete from history_inbox where id = (
          select id from history_inbox where id = ${entry.id}::bigint for update skip locked
        ) returning id`.execute(trx);
      return claimed.rows.length > 0;
    });
    return result !== null;
  }
}

/**
 * The delete of rows whose chunks are stored, as a CTE (`inbox_done`) with its count
 * (`inboxDeleted`). A row another process holds right now (replaying it) is skipped: that process
 * deletes it.
 */
function deleteRows(ids: readonly string[]): StatementExtras {
  return {
    ctes: [
      sql`inbox_done as (
        delete from history_inbox where id in (
          select id from history_inbox where id = any(${ids}::bigint[]) for update skip locked
        ) returning id
      )`,
    ],
    counts: { inboxDeleted: sql`select count(*) from inbox_done` },
  };
}
