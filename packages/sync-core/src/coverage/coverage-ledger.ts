import type { CoverageReason, Database } from '@omni/db';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { perBatchCode } from '../storage/per-batch-code.ts';
import { type CoverageRange, mergeRanges } from './coverage-range.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * What one committed batch proves about a chat: every message of `[from, to)` is stored. Written
 * with the batch (same statement or transaction) into `chat_coverage`, merged with the ranges it
 * touches.
 */
export interface CoverageExtension {
  /** UTC ms, inclusive. */
  from: number;
  /** UTC ms, exclusive. */
  to: number;
  fromReason: CoverageReason;
  toReason: CoverageReason;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The two data-modifying CTEs that add `ext` to a chat's ledger inside a bigger statement:
 * `cov_old` deletes the rows it overlaps or touches, `cov_new` inserts their union (the outer
 * edges keep the reasons of whichever range reaches furthest; on a tie the new one's). Both are
 * gated on `gate` (the batch's lease fence).
 */
export function coverageCtes(
  instanceId: string,
  chatId: string,
  ext: CoverageExtension,
  gate: RawBuilder<unknown> = sql`true`,
): RawBuilder<unknown>[] {
  const from = sql`${iso(ext.from)}::timestamptz`;
  const to = sql`${iso(ext.to)}::timestamptz`;
  return [
    sql`cov_old as (
      delete from chat_coverage c
      where ${gate} and c.instance_id = ${instanceId}::uuid and c.chat_id = ${chatId}::text
        and c.from_at <= ${to} and c.to_at >= ${from}
      returning c.from_at, c.to_at, c.from_reason, c.to_reason
    )`,
    sql`cov_new as (
      insert into chat_coverage (instance_id, chat_id, from_at, to_at, from_reason, to_reason)
      select ${instanceId}::uuid, ${chatId}::text, least(${from}, lo.from_at), greatest(${to}, hi.to_at),
        case when lo.from_at < ${from} then lo.from_reason else ${ext.fromReason}::text end,
        case when hi.to_at > ${to} then hi.to_reason else ${ext.toReason}::text end
      from (select 1) one
      left join lateral (select from_at, from_reason from cov_old order by from_at limit 1) lo on true
      left join lateral (select to_at, to_reason from cov_old order by to_at desc limit 1) hi on true
      where ${gate}
    )`,
  ];
}
perBatchCode(coverageCtes);

/** Adds `ext` to a chat's ledger as its own statement (inside the caller's transaction). */
export async function extendCoverage(
  db: Db,
  instanceId: string,
  chatId: string,
  ext: CoverageExtension,
): Promise<void> {
  await sql`with ${sql.join(coverageCtes(instanceId, chatId, ext))} select 1`.execute(db);
}

/**
 * Extends a chat's newest covered range up to messages just received live (through `newest`, UTC
 * ms), with the upper edge `live` — only when that range reaches `liveSince`, the time since which
 * the connection that received them has been open without a break (so every message after the
 * range's end reached the process live). Run in the transaction that stores the messages. True
 * when the ledger was extended.
 */
export async function extendLiveCoverage(
  db: Db,
  instanceId: string,
  chatId: string,
  liveSince: number,
  newest: number,
): Promise<boolean> {
  const top = await db
    .selectFrom('chat_coverage')
    .select('to_at')
    .where('instance_id', '=', instanceId)
    .where('chat_id', '=', chatId)
    .orderBy('to_at', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst();
  if (!top) return false;
  const coveredTo = top.to_at.getTime();
  if (coveredTo < liveSince || newest + 1 <= coveredTo) return false;
  await extendCoverage(db, instanceId, chatId, {
    from: coveredTo,
    to: newest + 1,
    fromReason: 'depth',
    toReason: 'live',
  });
  return true;
}

/**
 * Sets the reason of the lower edge at `at` (a range starting exactly there) — how a chat whose
 * fetch stopped there (failed, cancelled) says why. Edges that are final facts (`depth`,
 * `exhausted`) are kept.
 */
export async function markCoverageEdge(
  db: Db,
  instanceId: string,
  chatId: string,
  at: number,
  reason: CoverageReason,
): Promise<void> {
  await db
    .updateTable('chat_coverage')
    .set({ from_reason: reason, updated_at: sql`now()` })
    .where('instance_id', '=', instanceId)
    .where('chat_id', '=', chatId)
    .where('from_at', '=', new Date(at))
    .where('from_reason', 'not in', ['exhausted', 'depth'])
    .execute();
}

/** The merged covered ranges of an instance's chats (all chats, or those named), oldest first. */
export async function readCoverage(
  db: Db,
  instanceId: string,
  chatIds?: readonly string[],
): Promise<Map<string, CoverageRange[]>> {
  if (chatIds && chatIds.length === 0) return new Map();
  let q = db
    .selectFrom('chat_coverage')
    .select(['chat_id', 'from_at', 'to_at', 'from_reason', 'to_reason'])
    .where('instance_id', '=', instanceId);
  if (chatIds) q = q.where('chat_id', 'in', [...chatIds]);
  const rows = await q.orderBy('chat_id').orderBy('from_at').execute();
  const byChat = new Map<string, CoverageRange[]>();
  for (const r of rows) {
    const list = byChat.get(r.chat_id) ?? [];
    list.push({
      from: r.from_at.getTime(),
      to: r.to_at.getTime(),
      fromReason: r.from_reason,
      toReason: r.to_reason,
    });
    byChat.set(r.chat_id, list);
  }
  for (const [chat, list] of byChat) byChat.set(chat, mergeRanges(list));
  return byChat;
}
