import type { Database } from '@omni/db';
import { type CompiledQuery, type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { MediaDescriptor, NormalizedMessage } from '../contract/normalized-message.ts';
import { coverageCtes, extendCoverage } from '../coverage/coverage-ledger.ts';
import { LeaseLostError } from '../errors/lease-lost-error.ts';
import { holdLease, leaseFence } from '../jobs/job-repository.ts';
import { progressWithDelta } from '../jobs/sync-progress.ts';
import { perBatchCode } from './per-batch-code.ts';
import { PG_ARRAY_ELEMENT, PgBinaryArray } from './pg-binary-array.ts';
import { cleanJson, cleanText } from './sanitize.ts';
import type { ChatCheckpoint, WriteBatchInput, WriteBatchResult } from './write-batch.ts';

/** Options of {@link DedupeWriter}. */
export interface DedupeWriterOptions {
  /**
   * Commit checkpointed batches with `synchronous_commit = off`. Safe because a batch and its
   * cursor commit together: a tail lost in a database crash is simply fetched again. Batches
   * without a checkpoint (pushed history, which is not fetched again) always commit synchronously.
   * @defaultValue true
   */
  asyncCommit?: boolean;
}

/** Defaults of {@link DedupeWriterOptions}. */
export const DEFAULT_DEDUPE_WRITER_OPTIONS = {
  asyncCommit: true,
} satisfies Required<DedupeWriterOptions>;

type Db = Kysely<Database> | Transaction<Database>;

const ACTS_ON_TARGET = new Set(['edit', 'revoke']);

/** Names of the batch's columns in the statement, in the order of {@link batchColumns}. */
const UNNEST_COLUMNS = [
  'chat',
  'ext',
  'sender',
  'sender_name',
  'sent_at',
  'kind',
  'text',
  'reply_to',
  'target',
  'has_media',
  'mime',
  'url',
  'meta',
  'edited_at',
  'deleted_at',
  'raw',
] as const;

/** Element types of the batch's columns, in the order of {@link batchColumns}. */
const UNNEST_TYPES = [
  'text[]',
  'text[]',
  'text[]',
  'text[]',
  'timestamptz[]',
  'text[]',
  'text[]',
  'text[]',
  'text[]',
  'bool[]',
  'text[]',
  'text[]',
  'jsonb[]',
  'timestamptz[]',
  'timestamptz[]',
  'jsonb[]',
] as const;

interface Prepared {
  valid: NormalizedMessage[];
  failed: number;
  oldest: number | null;
  newest: number | null;
}

interface StatementRow {
  k: string;
  id: string;
  chat_external_id: string | null;
  external_id: string | null;
}

/** A one-statement batch, compiled: `query` is `null` when there is nothing to write. */
interface Statement {
  query: CompiledQuery<StatementRow> | null;
  /** The batch's result, filled in from the statement's rows. */
  result: WriteBatchResult;
  valid: readonly NormalizedMessage[];
  cp: ChatCheckpoint | undefined;
  /** The counts of the statement's {@link StatementExtras}, by name, filled in from its rows. */
  counts: Record<string, number>;
}

/**
 * More writes for a batch's one statement ({@link DedupeWriter.writeBatchWith}): data-modifying
 * CTEs that commit with the batch or not at all, and counts read back from them.
 */
export interface StatementExtras {
  /**
   * CTEs, each `name as (…)`, placed before the batch's own. Their names must differ from the
   * writer's (`fence`, `u`, `ins`, `upd`, `ins_n`, `chat_cp`, `job_cp`, `cov_*`).
   */
  ctes: readonly RawBuilder<unknown>[];
  /** Scalar expressions over those CTEs (e.g. `(select count(*) from x)`), read back as numbers by name. */
  counts: Readonly<Record<string, RawBuilder<unknown>>>;
}

/** Whether {@link DedupeWriter} writes these messages in one statement (no edit or revoke among them). */
export function writesInOneStatement(messages: readonly NormalizedMessage[]): boolean {
  return !messages.some((m) => ACTS_ON_TARGET.has(m.kind));
}

/**
 * A batch encoded by {@link DedupeWriter.prepareBatch}, to be passed to `writeBatch` once. Opaque:
 * it holds the validated messages and, for a batch without edits or revokes, its statement.
 */
export class PreparedBatch {
  /** @internal */
  constructor(
    /** The batch as given. */
    readonly input: WriteBatchInput,
    /** @internal */
    readonly prepared: Prepared,
    /** @internal `null`: the batch has edits or revokes and is written stepwise. */
    readonly statement: Statement | null,
  ) {}
}

/** Keeps messages that can be stored (an id, a chat, a finite time) and the batch's time span. */
function prepare(input: WriteBatchInput): Prepared {
  const valid: NormalizedMessage[] = [];
  let failed = 0;
  let oldest: number | null = null;
  let newest: number | null = null;
  for (const m of input.messages) {
    if (!m.externalId || !m.chatId || !Number.isFinite(m.timestamp)) {
      failed += 1;
      continue;
    }
    valid.push(m);
    if (oldest === null || m.timestamp < oldest) oldest = m.timestamp;
    if (newest === null || m.timestamp > newest) newest = m.timestamp;
  }
  return { valid, failed, oldest, newest };
}

function mediaMetadata(media: readonly MediaDescriptor[]): Record<string, unknown> | null {
  const [first, ...rest] = media;
  if (!first) return null;
  const meta: Record<string, unknown> = { ...first };
  if (rest.length > 0) meta.more = rest.map(({ base64: _, ...m }) => m);
  return meta;
}

/** The batch's columns, one binary Postgres array each, in the order `unnest` zips them. */
function batchColumns(valid: readonly NormalizedMessage[]): Buffer[] {
  const n = valid.length;
  const chat = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 24);
  const ext = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 24);
  const sender = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 24);
  const senderName = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 16);
  const sentAt = new PgBinaryArray(PG_ARRAY_ELEMENT.timestamptz, n * 12);
  const kind = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 9);
  const text = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 80);
  const replyTo = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 4);
  const target = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 4);
  const hasMedia = new PgBinaryArray(PG_ARRAY_ELEMENT.bool, n * 5);
  const mime = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 4);
  const url = new PgBinaryArray(PG_ARRAY_ELEMENT.text, n * 4);
  const meta = new PgBinaryArray(PG_ARRAY_ELEMENT.jsonb, n * 4);
  const editedAt = new PgBinaryArray(PG_ARRAY_ELEMENT.timestamptz, n * 4);
  const deletedAt = new PgBinaryArray(PG_ARRAY_ELEMENT.timestamptz, n * 4);
  const raw = new PgBinaryArray(PG_ARRAY_ELEMENT.jsonb, n * 300);
  for (let i = 0; i < n; i += 1) {
    const m = valid[i] as NormalizedMessage;
    const first = m.media[0];
    chat.text(m.chatId);
    ext.text(m.externalId);
    sender.text(m.senderId);
    senderName.text(m.senderName);
    sentAt.timestamp(m.timestamp);
    kind.text(m.kind);
    text.text(m.text);
    replyTo.text(m.replyToId);
    target.text(m.targetId);
    hasMedia.bool(first !== undefined);
    mime.text(first?.mimeType);
    url.text(first?.url);
    meta.jsonText(first === undefined ? null : cleanJson(mediaMetadata(m.media)));
    editedAt.timestamp(m.editedAt);
    deletedAt.timestamp(m.deletedAt);
    raw.jsonText(m.raw === undefined || m.raw === null ? null : cleanJson(m.raw));
  }
  return [
    chat,
    ext,
    sender,
    senderName,
    sentAt,
    kind,
    text,
    replyTo,
    target,
    hasMedia,
    mime,
    url,
    meta,
    editedAt,
    deletedAt,
    raw,
  ].map((column) => column.finish());
}
perBatchCode(batchColumns);

/**
 * The batch as one statement: `ins` inserts new rows (merging edits/revokes stored earlier for
 * them), `upd` refreshes pre-existing rows that come back with a newer edit or a deletion (it
 * cannot see the rows `ins` adds, so it only touches duplicates), and with a checkpoint `chat_cp`
 * and `job_cp` add the counts of `ins`/`upd` to `sync_job_chats` and `sync_jobs.progress`. With a
 * checkpoint, `fence` comes first and every write is gated on it (`gate`); an empty batch with a
 * checkpoint is the same statement over no rows, so its checkpoint and counters (`chatsDone`,
 * `chatsExhausted`…) commit together. `asyncCommit`: a checkpointed batch may commit with
 * `synchronous_commit = off`.
 */
function buildStatement(
  db: Db,
  input: WriteBatchInput,
  prepared: Prepared,
  asyncCommit: boolean,
  extras: StatementExtras | null,
): Statement {
  const { valid, failed, oldest, newest } = prepared;
  const result: WriteBatchResult = {
    fetched: input.messages.length,
    stored: 0,
    duplicates: 0,
    updated: 0,
    failed,
    inserted: [],
    oldestTimestamp: oldest,
    newestTimestamp: newest,
  };
  const cp = input.checkpoint;
  const counts: Record<string, number> = {};
  const countNames = extras ? Object.keys(extras.counts) : [];
  for (const name of countNames) counts[name] = 0;
  if (valid.length === 0 && !cp && !extras?.ctes.length) return { query: null, result, valid, cp, counts };
  const instanceId = input.instanceId;
  const n = valid.length;
  const chats = new Set<string>();
  let refresh = false;
  for (let i = 0; i < n; i += 1) {
    const m = valid[i] as NormalizedMessage;
    chats.add(m.chatId);
    if ((m.editedAt != null || m.deletedAt != null) && !ACTS_ON_TARGET.has(m.kind)) refresh = true;
  }
  // One binary array per column: the server reads each value by its length, parses only the
  // jsonb columns (as COPY does) and holds no batch document. Far cheaper on both sides than one
  // JSON document (parsed twice, and once more per jsonb field) or text arrays.
  const columns = batchColumns(valid);
  const chatList = [...chats].map((c) => cleanText(c) as string);
  const syncOff = asyncCommit && cp !== undefined;
  // Every write of the statement is gated on the lease (when the batch belongs to a job run).
  const gate = cp ? sql`exists (select 1 from fence)` : sql`true`;
  const insWhere = syncOff
    ? sql`where ${gate} and (select set_config('synchronous_commit', 'off', true)) is not null`
    : sql`where ${gate}`;
  const ctes: RawBuilder<unknown>[] = [];
  if (cp) ctes.push(sql`fence as materialized (${leaseFence(cp.lease)})`);
  if (extras) ctes.push(...extras.ctes);
  ctes.push(
    // `unnest` in the select list (one per column, zipped in lockstep: the arrays have the same
    // length) streams the rows; `from unnest(a, b, …)` first copies every column into a tuplestore.
    sql`u as (
      select ${sql.join(columns.map((c, i) => sql`unnest(${c}::${sql.raw(UNNEST_TYPES[i] as string)}) as ${sql.raw(UNNEST_COLUMNS[i] as string)}`))}
    )`,
    // Pending edits/revokes (stored before their target) are merged into the target as it is
    // inserted. The EXISTS gate is evaluated once: chats without any skip the probe.
    sql`ins as (
      insert into messages (
        instance_id, chat_external_id, external_id, sender_id, sender_name, sent_at, kind, text,
        reply_to_external_id, target_external_id, has_media, media_mime_type, media_url,
        media_metadata, source, edited_at, deleted_at, raw
      )
      select ${instanceId}::uuid, u.chat, u.ext, u.sender, u.sender_name, u.sent_at, u.kind,
        case when p.edit_at is not null and (u.edited_at is null or u.edited_at < p.edit_at)
          then p.edit_text else u.text end,
        u.reply_to, u.target, u.has_media, u.mime, u.url, u.meta, ${input.source ?? 'sync'},
        greatest(u.edited_at, p.edit_at),
        coalesce(u.deleted_at, p.revoke_at),
        u.raw
      from u
      left join lateral (
        select
          (array_agg(e.text order by e.sent_at desc) filter (where e.kind = 'edit'))[1] as edit_text,
          max(e.sent_at) filter (where e.kind = 'edit') as edit_at,
          min(e.sent_at) filter (where e.kind = 'revoke') as revoke_at
        from messages e
        where (select exists (
                select 1 from messages x
                where x.instance_id = ${instanceId}::uuid and x.target_external_id is not null
                  and x.chat_external_id = any(${chatList}::text[])))
          and e.instance_id = ${instanceId}::uuid and e.chat_external_id = u.chat
          and e.target_external_id = u.ext and e.kind in ('edit', 'revoke')
        group by e.chat_external_id, e.target_external_id
      ) p on u.kind not in ('edit', 'revoke', 'reaction')
      ${insWhere}
      on conflict on constraint messages_instance_chat_external_key do nothing
      returning id, chat_external_id, external_id, has_media
    )`,
    refresh
      ? sql`upd as (
      update messages t set
        text = case when u.edited_at is not null and (t.edited_at is null or t.edited_at < u.edited_at)
                    then u.text else t.text end,
        edited_at = greatest(t.edited_at, u.edited_at),
        deleted_at = coalesce(t.deleted_at, u.deleted_at)
      from u
      where ${gate} and t.instance_id = ${instanceId}::uuid and t.chat_external_id = u.chat
        and t.external_id = u.ext and u.kind not in ('edit', 'revoke', 'reaction')
        and (
          (u.edited_at is not null and (t.edited_at is null or t.edited_at < u.edited_at))
          or (u.deleted_at is not null and t.deleted_at is null)
        )
      returning t.id
    )`
      : sql`upd as (select null::uuid as id where false)`,
    // The batch's count of new rows, counted once (the checkpoint, the progress and the result
    // read it).
    sql`ins_n as (select count(*) as n from ins)`,
  );
  if (cp) {
    const stored = sql`(select n from ins_n)`;
    const updated = sql`(select count(distinct id) from upd)`;
    const duplicates = sql`${n}::bigint - (select n from ins_n)`;
    const oldestIso = oldest === null ? null : new Date(oldest).toISOString();
    const newestIso = newest === null ? null : new Date(newest).toISOString();
    ctes.push(sql`chat_cp as (
      update sync_job_chats set
        cursor = ${cleanJson(cp.cursor)}::jsonb,
        oldest_at = least(oldest_at, ${oldestIso}::timestamptz),
        newest_at = greatest(newest_at, ${newestIso}::timestamptz),
        fetched = fetched + ${result.fetched}::int,
        stored = stored + ${stored},
        duplicates = duplicates + ${duplicates},
        updated = updated + ${updated},
        failed = failed + ${failed}::int,
        status = coalesce(${cp.status ?? null}::text, status),
        exhausted = exhausted or ${cp.exhausted === true}::boolean,
        updated_at = now()
      where ${gate} and job_id = ${cp.lease.jobId}::uuid and chat_id = ${cp.chatId}::text
    )`);
    ctes.push(sql`job_cp as (
      update sync_jobs set
        progress = ${progressWithDelta({
          counters: {
            fetched: result.fetched,
            stored,
            duplicates,
            updated,
            failed,
            ...cp.progress,
          },
          oldestTimestamp: oldestIso,
        })},
        updated_at = now()
      where id = (select id from fence)
    )`);
    if (cp.coverage) ctes.push(...coverageCtes(instanceId, cp.chatId, cp.coverage, gate));
  }
  const query = sql<StatementRow>`
    with ${sql.join(ctes)}
    select 'i' as k, id::text as id, chat_external_id, external_id from ins
      ${input.returnInserted === 'withMedia' ? sql`where has_media` : sql``}
    union all
    select 'u', count(distinct id)::text, null, null from upd
    union all
    select 'n', n::text, null, null from ins_n
    ${cp ? sql`union all select 'f', count(*)::text, null, null from fence` : sql``}
    ${
      countNames.length > 0
        ? sql.join(
            countNames.map(
              (name) => sql`union all select 'x', (${extras?.counts[name]})::text, ${name}::text, null`,
            ),
            sql` `,
          )
        : sql``
    }`;
  return { query: query.compile(db), result, valid, cp, counts };
}
perBatchCode(buildStatement);

/**
 * Stores batches of messages once per (instance, chat, external id), in bulk: one
 * `INSERT … SELECT FROM unnest($chat, $ext, …) ON CONFLICT DO NOTHING RETURNING` per batch (each
 * column travels as one binary array, see {@link PgBinaryArray}), never a select per message. Atomically with it, it applies
 * edits and revokes (also ones that arrived in an earlier batch than their target), moves the
 * chat's checkpoint in `sync_job_chats` and adds to the job's progress counters with atomic SQL
 * increments.
 *
 * A batch with a checkpoint is fenced by the run's lease: the statement's first CTE `fence` locks
 * the job row while the lease is current, and every write of the statement (`ins`, `upd`,
 * `chat_cp`, `job_cp`, and any CTE added later) is gated on `exists (select 1 from fence)`. A
 * batch whose lease was taken over commits nothing and throws `LeaseLostError`. Stepwise batches
 * (edits/revokes) take the same lock as the first statement of their transaction.
 *
 * @example
 * ```ts
 * const writer = new DedupeWriter(db);
 * const r = await writer.writeBatch({ instanceId, messages, checkpoint: { lease, chatId, cursor } });
 * console.log(r.stored, r.duplicates, r.updated);
 * ```
 */
export class DedupeWriter {
  readonly #db: Kysely<Database>;
  readonly #options: Required<DedupeWriterOptions>;

  constructor(db: Kysely<Database>, options: DedupeWriterOptions = {}) {
    this.#db = db;
    this.#options = { ...DEFAULT_DEDUPE_WRITER_OPTIONS, ...options };
  }

  /**
   * Writes one batch atomically. A batch without edits or revokes is one SQL statement (insert,
   * refresh of re-fetched edited messages, checkpoint and progress as data-modifying CTEs: one round
   * trip, atomic by itself); one with edits or revokes is a transaction of three statements.
   *
   * `input` may be a batch encoded ahead by {@link DedupeWriter.prepareBatch}: the statement is then
   * sent as it is.
   */
  async writeBatch(input: WriteBatchInput | PreparedBatch): Promise<WriteBatchResult> {
    const batch = input instanceof PreparedBatch ? input : this.prepareBatch(input);
    const { statement } = batch;
    if (statement === null) {
      return this.#db.transaction().execute((trx) => this.#writeStepwise(trx, batch.input, batch.prepared));
    }
    return this.#run(this.#db, statement);
  }

  /**
   * Encodes a batch for {@link DedupeWriter.writeBatch} without touching the database: validation,
   * the binary column arrays and the statement (a batch with edits or revokes only validated; its
   * statements are built when it is written). Pure CPU work, so a caller can encode the next batch
   * of a chat while the previous one executes, and still send them one after the other: each batch
   * stays one fenced statement that carries its own checkpoint, written only after the batch before
   * it committed (see the runner's `fetchSegment`).
   */
  prepareBatch(input: WriteBatchInput): PreparedBatch {
    const prepared = prepare(input);
    if (prepared.valid.some((m) => ACTS_ON_TARGET.has(m.kind)))
      return new PreparedBatch(input, prepared, null);
    return new PreparedBatch(input, prepared, this.#build(input, prepared, true));
  }

  /**
   * {@link writeBatch}'s one statement with more writes in it (`extras`, e.g. the directory upserts of
   * a pushed chunk): they commit with the batch, atomically, in one round trip. `whileWriting` is
   * called once the statement is on its way (a macrotask: the process is waiting for the answer).
   * `null`, with nothing written, when the batch has edits or revokes (it takes several statements:
   * use {@link writeBatchIn} in a transaction). An empty batch with extras still runs them. The
   * extras are not gated on a checkpoint's lease (pushed history, their one user, has none).
   */
  async writeBatchWith(
    input: WriteBatchInput,
    extras: StatementExtras,
    whileWriting?: () => void,
  ): Promise<{ result: WriteBatchResult; counts: Record<string, number> } | null> {
    const prepared = prepare(input);
    if (prepared.valid.some((m) => ACTS_ON_TARGET.has(m.kind))) return null;
    const statement = this.#build(input, prepared, true, extras);
    const running = this.#run(this.#db, statement);
    if (whileWriting && statement.query !== null) setImmediate(whileWriting);
    return { result: await running, counts: statement.counts };
  }

  /** Writes one batch inside a transaction the caller owns (so more writes can join it). */
  async writeBatchIn(trx: Transaction<Database>, input: WriteBatchInput): Promise<WriteBatchResult> {
    return this.#writeStepwise(trx, input, prepare(input));
  }

  async #writeStepwise(
    trx: Transaction<Database>,
    input: WriteBatchInput,
    prepared: Prepared,
  ): Promise<WriteBatchResult> {
    if (input.checkpoint) await holdLease(trx, input.checkpoint.lease);
    if (input.checkpoint && this.#options.asyncCommit) {
      await sql`select set_config('synchronous_commit', 'off', true)`.execute(trx);
    }
    const result = await this.#run(
      trx,
      this.#build({ ...input, checkpoint: undefined, returnInserted: 'all' }, prepared, false),
    );
    const newActions = result.inserted.filter(
      (r) => ACTS_ON_TARGET.has(r.message.kind) && r.message.targetId,
    );
    if (newActions.length > 0) {
      result.updated += await this.#applyActions(
        trx,
        input.instanceId,
        newActions.map((r) => r.id),
      );
    }
    if (input.checkpoint) await this.#checkpoint(trx, input.instanceId, input.checkpoint, result);
    if (input.returnInserted === 'withMedia')
      result.inserted = result.inserted.filter((r) => r.message.media.length > 0);
    return result;
  }

  /** The batch as one statement ({@link buildStatement}), committed asynchronously when allowed. */
  #build(
    input: WriteBatchInput,
    prepared: Prepared,
    asyncCommit: boolean,
    extras: StatementExtras | null = null,
  ): Statement {
    return buildStatement(this.#db, input, prepared, asyncCommit && this.#options.asyncCommit, extras);
  }

  /** Sends a built statement and reads its counts and new rows into its result. */
  async #run(db: Db, statement: Statement): Promise<WriteBatchResult> {
    const { query, result, valid, cp, counts } = statement;
    if (query === null) return result;
    const n = valid.length;
    const rows = await db.executeQuery(query);
    let byKey: Map<string, NormalizedMessage> | undefined;
    for (const r of rows.rows) {
      if (r.k === 'f') {
        if (r.id === '0' && cp) throw new LeaseLostError(cp.lease.jobId, cp.lease.owner);
        continue;
      }
      if (r.k === 'u') {
        result.updated = Number(r.id);
        continue;
      }
      if (r.k === 'n') {
        result.stored = Number(r.id);
        continue;
      }
      if (r.k === 'x') {
        counts[r.chat_external_id as string] = Number(r.id);
        continue;
      }
      if (!byKey) {
        byKey = new Map();
        for (let i = n - 1; i >= 0; i -= 1) {
          const m = valid[i] as NormalizedMessage;
          byKey.set(`${cleanText(m.chatId)}\u0000${cleanText(m.externalId)}`, m);
        }
      }
      result.inserted.push({
        id: r.id,
        message: byKey.get(`${r.chat_external_id}\u0000${r.external_id}`) as NormalizedMessage,
      });
    }
    result.duplicates = n - result.stored;
    return result;
  }

  /** Applies newly stored edit/revoke rows to targets already present (latest edit wins). */
  async #applyActions(trx: Db, instanceId: string, actionIds: string[]): Promise<number> {
    const result = await sql<{ id: string }>`
      with agg as (
        select e.chat_external_id as chat, e.target_external_id as target,
          (array_agg(e.text order by e.sent_at desc) filter (where e.kind = 'edit'))[1] as edit_text,
          max(e.sent_at) filter (where e.kind = 'edit') as edit_at,
          min(e.sent_at) filter (where e.kind = 'revoke') as revoke_at
        from messages e
        where e.instance_id = ${instanceId}::uuid and e.kind in ('edit', 'revoke')
          and (e.chat_external_id, e.target_external_id) in (
            select n.chat_external_id, n.target_external_id from messages n where n.id = any(${actionIds}::uuid[]))
        group by 1, 2
      )
      update messages t set
        text = case when agg.edit_at is not null and (t.edited_at is null or t.edited_at < agg.edit_at)
                    then agg.edit_text else t.text end,
        edited_at = greatest(t.edited_at, agg.edit_at),
        deleted_at = coalesce(t.deleted_at, agg.revoke_at)
      from agg
      where t.instance_id = ${instanceId}::uuid and t.chat_external_id = agg.chat and t.external_id = agg.target
        and t.kind not in ('edit', 'revoke', 'reaction')
        and (
          (agg.edit_at is not null and (t.edited_at is null or t.edited_at < agg.edit_at))
          or (agg.revoke_at is not null and t.deleted_at is null)
        )
      returning t.id`.execute(trx);
    return result.rows.length;
  }

  async #checkpoint(trx: Db, instanceId: string, cp: ChatCheckpoint, r: WriteBatchResult): Promise<void> {
    const oldestIso = r.oldestTimestamp === null ? null : new Date(r.oldestTimestamp).toISOString();
    const newestIso = r.newestTimestamp === null ? null : new Date(r.newestTimestamp).toISOString();
    await trx
      .updateTable('sync_job_chats')
      .set((eb) => ({
        cursor: cleanJson(cp.cursor),
        oldest_at: sql`least(${eb.ref('oldest_at')}, ${oldestIso}::timestamptz)`,
        newest_at: sql`greatest(${eb.ref('newest_at')}, ${newestIso}::timestamptz)`,
        fetched: sql`fetched + ${r.fetched}`,
        stored: sql`stored + ${r.stored}`,
        duplicates: sql`duplicates + ${r.duplicates}`,
        updated: sql`updated + ${r.updated}`,
        failed: sql`failed + ${r.failed}`,
        ...(cp.status ? { status: cp.status } : {}),
        ...(cp.exhausted ? { exhausted: true } : {}),
        updated_at: sql`now()`,
      }))
      .where('job_id', '=', cp.lease.jobId)
      .where('chat_id', '=', cp.chatId)
      .execute();
    await trx
      .updateTable('sync_jobs')
      .set({
        progress: progressWithDelta({
          counters: {
            fetched: r.fetched,
            stored: r.stored,
            duplicates: r.duplicates,
            updated: r.updated,
            failed: r.failed,
            ...cp.progress,
          },
          oldestTimestamp: oldestIso,
        }),
        updated_at: sql`now()`,
      })
      .where('id', '=', cp.lease.jobId)
      .execute();
    if (cp.coverage) await extendCoverage(trx, instanceId, cp.chatId, cp.coverage);
  }
}
