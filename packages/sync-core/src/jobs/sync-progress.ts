import { type RawBuilder, sql } from 'kysely';
import type { SyncPart } from '../contract/channel-plugin.ts';
import { perBatchCode } from '../storage/per-batch-code.ts';

/** Counters of {@link SyncProgress}, each incremented atomically in SQL. */
export const PROGRESS_COUNTERS = [
  'fetched',
  'stored',
  'duplicates',
  'updated',
  'failed',
  'mediaDownloaded',
  'mediaSkipped',
  'mediaFailed',
  'mediaBytes',
  'rateLimitWaits',
  'rateLimitWaitMs',
  'chatsTotal',
  'chatsDone',
  'chatsExhausted',
  'chatsFailed',
] as const;

/** Name of one counter of {@link SyncProgress}. */
export type ProgressCounter = (typeof PROGRESS_COUNTERS)[number];

/** Status of one part (profile, messages, contacts, groups) of a job. */
export type PartStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'unsupported';

/** A chat whose history ended before the requested depth. */
export interface ExhaustedChat {
  chatId: string;
  name: string | null;
  /** Oldest message the platform gave, ISO 8601 UTC; `null` when the chat had none. */
  oldestTimestamp: string | null;
}

/** A chat that failed permanently (the platform refused it), with the error. */
export interface FailedChat {
  chatId: string;
  name: string | null;
  reason: string;
}

/** A chat that could not be read, with the reason the plugin gave. */
export interface SkippedChat {
  chatId: string;
  name: string | null;
  reason: string;
}

/**
 * The `sync_jobs.progress` jsonb, counted, never guessed. Every counter is exact: the message
 * counters move in the same transaction as the messages they count.
 */
export interface SyncProgress {
  /** Messages received from the platform (including edits/revokes and duplicates). */
  fetched: number;
  /** New message rows written. */
  stored: number;
  /** Messages already present (same instance, chat, external id). */
  duplicates: number;
  /** Existing messages changed by an edit, a revoke or a newer edit time. */
  updated: number;
  /**
   * Messages or chats that could not be processed: messages rejected before writing, plus chats
   * that failed permanently (`chatsFailed`). So `fetched = stored + duplicates + failed − chatsFailed`.
   */
  failed: number;
  mediaDownloaded: number;
  /** Media not stored on purpose (too big, type not allowed); see `mediaSkipReasons`. */
  mediaSkipped: number;
  /** Media that failed after retries; see `mediaFailReasons`. */
  mediaFailed: number;
  /** Bytes of media written to disk. */
  mediaBytes: number;
  /** Times a request waited for a token or a cooldown. */
  rateLimitWaits: number;
  /** Total time spent waiting for tokens or cooldowns, ms. */
  rateLimitWaitMs: number;
  chatsTotal: number;
  /** Chats finished (done or exhausted). */
  chatsDone: number;
  /** Chats whose history ended before the requested depth. */
  chatsExhausted: number;
  /**
   * Chats that failed permanently (the platform refused them: not found, no access); listed with
   * their reason in `failedChats`. The job still completes: what could be synced was.
   */
  chatsFailed: number;
  /** Oldest message timestamp reached so far, ISO 8601 UTC. */
  oldestTimestamp: string | null;
  /**
   * Estimated seconds to completion, `null` when it cannot be estimated: with `estimatedTotal`
   * (and no `unestimatedChats`), the messages still expected (`estimatedTotal − fetched`) at the
   * rate observed in this run; else the share of the window covered so far.
   */
  etaSeconds: number | null;
  /**
   * Messages the job is expected to fetch (`messages`/`catchup`): the sync plan's estimate over
   * the job's window and chats (the coverage ledger's gaps × each chat's stored density),
   * computed once when the job starts. Chats with no stored history have no basis: they add
   * nothing and are counted in `unestimatedChats`.
   */
  estimatedTotal?: number;
  /** Chats of the job with no basis for an estimate (as the plan's `unestimatedChats`). */
  unestimatedChats?: number;
  /** Facts the platform or the engine reported (missing intents, unreadable chats…). */
  warnings: string[];
  /** Per-part status. */
  parts: Partial<Record<SyncPart, PartStatus>>;
  /** The resolved time window, fixed at the first start and kept across resumes. */
  window?: { depth: string; since: string | null; until: string };
  exhaustedChats?: ExhaustedChat[];
  skippedChats?: SkippedChat[];
  failedChats?: FailedChat[];
  mediaSkipReasons?: Record<string, number>;
  mediaFailReasons?: Record<string, number>;
}

/** A progress object with every counter at zero. */
export function emptyProgress(): SyncProgress {
  return {
    fetched: 0,
    stored: 0,
    duplicates: 0,
    updated: 0,
    failed: 0,
    mediaDownloaded: 0,
    mediaSkipped: 0,
    mediaFailed: 0,
    mediaBytes: 0,
    rateLimitWaits: 0,
    rateLimitWaitMs: 0,
    chatsTotal: 0,
    chatsDone: 0,
    chatsExhausted: 0,
    chatsFailed: 0,
    oldestTimestamp: null,
    etaSeconds: null,
    warnings: [],
    parts: {},
  };
}

/** Reads a stored progress jsonb, filling absent fields with their zero values. */
export function readProgress(value: unknown): SyncProgress {
  const base = emptyProgress();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return base;
  return { ...base, ...(value as Partial<SyncProgress>) };
}

/** Changes applied to a progress jsonb in one SQL expression. */
export interface ProgressDelta {
  /** Amounts to add: numbers, or SQL expressions evaluated in the same statement. */
  counters?: Partial<Record<ProgressCounter, number | RawBuilder<unknown>>>;
  /** Lowers `oldestTimestamp` to this ISO time when older. */
  oldestTimestamp?: string | null;
  /** Adds one to `mediaSkipReasons[reason]` / `mediaFailReasons[reason]`. */
  mediaSkipReason?: string;
  mediaFailReason?: string;
  /**
   * Takes one back from `mediaFailReasons[reason]` (a failure counted earlier in the job that a
   * later outcome replaces); the key goes at zero. Applied before `mediaFailReason`.
   */
  mediaFailReasonTakenBack?: string;
  /** Appended to `warnings`. */
  warnings?: readonly string[];
}

/**
 * SQL for `progress` with `delta` applied, computed by the database from the row's current value
 * (atomic under the row lock, no read-modify-write in JS). Use as `.set({ progress: … })`.
 */
export function progressWithDelta(delta: ProgressDelta, column = 'progress'): RawBuilder<string> {
  const ref = sql.ref(column);
  const parts: RawBuilder<unknown>[] = [];
  for (const [key, n] of Object.entries(delta.counters ?? {})) {
    if (n === undefined || n === 0) continue;
    const amount = typeof n === 'number' ? sql`${n}::bigint` : sql`(${n})::bigint`;
    parts.push(sql`${key}::text, coalesce((${ref}->>${key}::text)::bigint, 0) + ${amount}`);
  }
  if (delta.oldestTimestamp) {
    const ts = delta.oldestTimestamp;
    parts.push(
      sql`'oldestTimestamp'::text, least(coalesce(${ref}->>'oldestTimestamp', ${ts}::text), ${ts}::text)`,
    );
  }
  for (const [field, reason, takenBack] of [
    ['mediaSkipReasons', delta.mediaSkipReason, undefined],
    ['mediaFailReasons', delta.mediaFailReason, delta.mediaFailReasonTakenBack],
  ] as const) {
    if (!reason && !takenBack) continue;
    let map: RawBuilder<unknown> = sql`coalesce(${ref}->${field}::text, '{}'::jsonb)`;
    if (takenBack) {
      const n = sql`coalesce((${map}->>${takenBack}::text)::bigint, 0)`;
      map = sql`(case when ${n} <= 1 then ${map} - ${takenBack}::text
        else ${map} || jsonb_build_object(${takenBack}::text, ${n} - 1) end)`;
    }
    if (reason) {
      map = sql`${map} || jsonb_build_object(${reason}::text, coalesce((${map}->>${reason}::text)::bigint, 0) + 1)`;
    }
    parts.push(sql`${field}::text, ${map}`);
  }
  if (delta.warnings && delta.warnings.length > 0) {
    parts.push(
      sql`'warnings'::text, coalesce(${ref}->'warnings', '[]'::jsonb) || ${JSON.stringify(delta.warnings)}::jsonb`,
    );
  }
  if (parts.length === 0) return sql<string>`${ref}`;
  return sql<string>`${ref} || jsonb_build_object(${sql.join(parts)})`;
}
perBatchCode(progressWithDelta);
