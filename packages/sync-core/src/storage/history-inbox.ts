import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import type { Database } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import type { PushedHistory } from '../contract/channel-plugin.ts';
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

/**
 * Pushed history written down before it is processed (`history_inbox`), so nothing a platform
 * pushes once is lost to an outage or a restart: {@link put} stores the batch, {@link commit} stores
 * it through the {@link HistoryIngestor} and deletes its row in the same transaction, and
 * {@link replay} commits what an earlier process left behind. A row is claimed with a row lock, so
 * two processes replaying at once store each batch once (a repeat would be harmless anyway: the
 * ingestor is idempotent).
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

  constructor(db: Kysely<Database>, ingestor: HistoryIngestor) {
    this.#db = db;
    this.#ingestor = ingestor;
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
   * {@link put} and {@link commit} side by side, for a batch just received: the batch is written
   * to the inbox (its own statement, on another connection) while the storing transaction runs —
   * started once the transaction's messages statement is on its way, so encoding the row overlaps
   * with the largest write — and that transaction deletes the row and commits only once the row is
   * written. The batch is thus never stored without having been written down, at about the latency
   * of the storing alone. On failure, `inboxId` tells whether the inbox write got through (then
   * {@link commit} it later); a write not started by then is not started at all.
   */
  async putAndCommit(batch: PushedHistory): Promise<{ inboxId: string | null; error: unknown }> {
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
        {
          claimLast: true,
          whileWriting: () => {
            if (inbox.open) void startPut();
          },
        },
      );
      return { inboxId: inbox.id, error: null };
    } catch (error) {
      inbox.open = false;
      await inbox.put?.catch(() => null);
      return { inboxId: inbox.id, error };
    } finally {
      inbox.open = false;
    }
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
