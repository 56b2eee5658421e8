import type { SyncChatStatus } from '@omni/db';
import type { JsonValue } from '../contract/ids.ts';
import type { NormalizedMessage } from '../contract/normalized-message.ts';
import type { CoverageExtension } from '../coverage/coverage-ledger.ts';
import type { JobLease } from '../jobs/job-types.ts';
import type { ProgressCounter } from '../jobs/sync-progress.ts';

/**
 * Where a batch moves a job's checkpoint, committed with the messages — and only while the run's
 * lease on the job is current: a batch whose lease was taken over commits nothing (no message, no
 * checkpoint, no counter) and `writeBatch` throws `LeaseLostError`.
 */
export interface ChatCheckpoint {
  /** The run's lease on the job (the job is `lease.jobId`). */
  lease: JobLease;
  /** `sync_job_chats.chat_id` of the chat the batch belongs to. */
  chatId: string;
  /** The plugin's cursor after this batch: resuming starts right after it. */
  cursor: JsonValue;
  /** New status of the chat (e.g. `done` or `exhausted` on its last batch). */
  status?: SyncChatStatus;
  /** The platform has nothing older for this chat. */
  exhausted?: boolean;
  /** Extra job counters to add in the same transaction (`chatsDone`, `chatsExhausted`…). */
  progress?: Partial<Record<ProgressCounter, number>>;
  /**
   * The span of the chat's history this batch completes, added to the coverage ledger
   * (`chat_coverage`, keyed by `chatId`) in the same statement or transaction as the batch.
   */
  coverage?: CoverageExtension;
}

/** One batch for `DedupeWriter.writeBatch`. */
export interface WriteBatchInput {
  instanceId: string;
  /** Messages of one or several chats (each carries its own `chatId`). */
  messages: readonly NormalizedMessage[];
  /**
   * `sync` for history, `live` for real-time messages.
   * @defaultValue 'sync'
   */
  source?: 'sync' | 'live';
  /** The job checkpoint to move in the same transaction; absent for pushed history. */
  checkpoint?: ChatCheckpoint;
  /**
   * Which created rows `inserted` lists: `all`, or only those with media (all the runner needs;
   * saves sending every new id back, about a quarter of a batch's cost). Counts are exact either way.
   * @defaultValue 'all'
   */
  returnInserted?: 'all' | 'withMedia';
}

/** A message row created by a batch. */
export interface InsertedMessage {
  /** Internal uuid of the row. */
  id: string;
  message: NormalizedMessage;
}

/** Exact outcome of one batch. `fetched = stored + duplicates + failed`. */
export interface WriteBatchResult {
  fetched: number;
  /** New rows (including edit/revoke/reaction rows). */
  stored: number;
  /** Rows already present (or repeated within the batch). */
  duplicates: number;
  /** Existing rows changed: text/edited_at by an edit, deleted_at by a revoke, a newer edit time. */
  updated: number;
  /** Messages rejected before writing (no id, no valid timestamp). */
  failed: number;
  /** Rows created, with the message each came from (all, or those with media: see `returnInserted`). */
  inserted: InsertedMessage[];
  /** Oldest and newest valid message time in the batch, UTC ms. */
  oldestTimestamp: number | null;
  newestTimestamp: number | null;
}
