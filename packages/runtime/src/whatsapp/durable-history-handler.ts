import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryInbox, Logger, PushedHistory } from '@omni/sync-core';

/** Options of {@link DurableHistoryHandler}. */
export interface DurableHistoryHandlerOptions {
  /**
   * Folder where a batch goes when the process stops while Postgres cannot take it (read back into
   * the inbox at the next start). `null`: no spool — such a batch is logged as lost.
   * @defaultValue null
   */
  spoolDir?: string | null;
  /** First delay before a failed write is tried again, ms (doubles per attempt). @defaultValue 250 */
  retryBaseMs?: number;
  /** Longest delay between two attempts, ms. @defaultValue 5_000 */
  retryMaxMs?: number;
  /**
   * Write the inbox row and run the storing transaction side by side (`HistoryInbox.putAndCommit`):
   * needs a database with more than one connection (Postgres), not PGlite's single one.
   * @defaultValue false
   */
  parallel?: boolean;
}

/** Defaults of {@link DurableHistoryHandlerOptions}. */
export const DEFAULT_DURABLE_HISTORY_HANDLER_OPTIONS = {
  spoolDir: null,
  retryBaseMs: 250,
  retryMaxMs: 5_000,
  parallel: false,
} satisfies Required<DurableHistoryHandlerOptions>;

/**
 * The history handler of a process running WhatsApp sessions: nothing pushed is dropped. Each batch
 * is first written to the `history_inbox` table, then stored (and its row deleted) in one
 * transaction; both steps are retried until they succeed, however long Postgres is away, in order.
 * With `parallel` (Postgres) the row is written while the batch is stored and, for the common
 * batch, deleted lazily once both are done (`HistoryInbox.putAndCommit`; {@link flushDeletes} at
 * shutdown).
 * When the process stops, a batch Postgres did not take yet is written to a spool file and read
 * back at the next start ({@link replay}), with the inbox rows an earlier run (or a dead worker)
 * left.
 */
export class DurableHistoryHandler {
  readonly #inbox: HistoryInbox;
  readonly #log: Logger;
  readonly #options: Required<DurableHistoryHandlerOptions>;
  #closing = false;
  readonly #wakers = new Set<() => void>();
  #spoolSeq = 0;

  constructor(inbox: HistoryInbox, log: Logger, options: DurableHistoryHandlerOptions = {}) {
    this.#inbox = inbox;
    this.#log = log;
    this.#options = { ...DEFAULT_DURABLE_HISTORY_HANDLER_OPTIONS, ...options };
  }

  /** Writes the batch down, then stores it; resolves once it is stored, or kept for the next start. */
  async accept(batch: PushedHistory): Promise<void> {
    // On Postgres both steps at once (the storing commits only after the inbox write); otherwise,
    // or after a failure, step by step with retries from where it stopped.
    const first =
      this.#closing || !this.#options.parallel
        ? { inboxId: null, error: 'sequential' }
        : await this.#inbox.putAndCommit(batch);
    if (first.error === null) return;
    const id =
      first.inboxId ?? (await this.#untilDone('write to the inbox', batch, () => this.#inbox.put(batch)));
    if (id === null) {
      this.#spool(batch);
      return;
    }
    // Once in the inbox the batch is safe: a stop leaves the row for the next start.
    await this.#untilDone('store', batch, () => this.#inbox.commit(id, batch));
  }

  /**
   * Stores what an earlier run left: spool files into the inbox first, then every inbox row (of
   * one instance, or all). Returns the number of rows stored.
   */
  async replay(instanceId?: string): Promise<number> {
    if (!instanceId) await this.#unspool();
    return this.#inbox.replay(instanceId);
  }

  /**
   * Deletes the inbox rows of batches stored already whose delete was still pending
   * (`HistoryInbox.flushDeletes`; after {@link close}, before the database closes). On failure
   * they stay, harmlessly: the next start replays them and stores nothing new.
   */
  async flushDeletes(): Promise<void> {
    try {
      await this.#inbox.flushDeletes();
    } catch (error) {
      this.#log.warn(
        { err: error, rows: this.#inbox.pendingDeletes().length },
        'pushed history: inbox rows of stored batches not deleted; the next start replays them (nothing new is stored)',
      );
    }
  }

  /** Stops retrying: a batch still waiting is tried once more, then spooled or left in the inbox. */
  close(): void {
    this.#closing = true;
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  /** Runs `step` until it succeeds; `null` when the process stops before it did. */
  async #untilDone<T>(what: string, batch: PushedHistory, step: () => Promise<T>): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      const last = this.#closing;
      try {
        return await step();
      } catch (error) {
        this.#log.warn(
          {
            err: error,
            instanceId: batch.instanceId,
            syncType: batch.syncType,
            messages: batch.messages.length,
            attempt,
          },
          `pushed history: ${what} failed, ${last ? 'stopping' : 'retrying'}`,
        );
        if (last) return null;
        await this.#pause(Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (attempt - 1)));
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  #spool(batch: PushedHistory): void {
    const dir = this.#options.spoolDir;
    const facts = { instanceId: batch.instanceId, syncType: batch.syncType, messages: batch.messages.length };
    if (!dir) {
      this.#log.error(facts, 'pushed history lost: Postgres unreachable at shutdown and no spool folder');
      return;
    }
    try {
      mkdirSync(dir, { recursive: true });
      const name = `${Date.now()}-${process.pid}-${String(++this.#spoolSeq).padStart(6, '0')}.json`;
      // Written under a temporary name and renamed: a crash mid-write leaves no half batch.
      writeFileSync(join(dir, `${name}.tmp`), JSON.stringify(batch), { flush: true });
      renameSync(join(dir, `${name}.tmp`), join(dir, name));
      this.#log.warn(
        { ...facts, file: join(dir, name) },
        'pushed history spooled to disk until the next start',
      );
    } catch (error) {
      this.#log.error({ ...facts, err: error }, 'pushed history lost: spooling it to disk failed');
    }
  }

  async #unspool(): Promise<void> {
    const dir = this.#options.spoolDir;
    if (!dir) return;
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(dir, name);
      await this.#inbox.put(JSON.parse(readFileSync(file, 'utf8')) as PushedHistory);
      rmSync(file, { force: true });
    }
  }
}
