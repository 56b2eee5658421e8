import type { SyncJobChat } from '@omni/db';
import { sql } from 'kysely';
import { type ChatInfo, hasMedia, type StoredMessageRef } from '../contract/channel-plugin.ts';
import { type ChatId, type JsonValue, chatId as toChatId } from '../contract/ids.ts';
import {
  type CoverageExtension,
  extendCoverage,
  markCoverageEdge,
  readCoverage,
} from '../coverage/coverage-ledger.ts';
import { uncoveredGaps } from '../coverage/coverage-range.ts';
import { buildSyncPlan } from '../coverage/sync-plan.ts';
import { LeaseLostError } from '../errors/lease-lost-error.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import { PermanentError } from '../errors/permanent-error.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { holdLease } from '../jobs/job-repository.ts';
import { readProgress } from '../jobs/sync-progress.ts';
import { rateIdentity } from '../rate-limit/rate-identity.ts';
import type { InsertedMessage } from '../storage/write-batch.ts';
import type { JobRun } from './job-run.ts';
import { backfillMedia } from './media-backfill.ts';
import { StopSignal } from './stop-signal.ts';
import { isSyncDepth, sinceForDepth } from './sync-depth.ts';

/** The time window of a messages sync, fixed at the job's first start. */
export interface SyncWindow {
  depth: string;
  since: number | null;
  until: number;
}

async function resolveWindow(run: JobRun): Promise<SyncWindow> {
  const progress = readProgress(run.job.progress);
  if (progress.window) {
    return {
      depth: progress.window.depth,
      since: progress.window.since === null ? null : Date.parse(progress.window.since),
      until: Date.parse(progress.window.until),
    };
  }
  if (run.job.type === 'catchup') {
    // Each chat's own newest covered point is where its catch-up starts (see nextGap).
    const until = run.job.started_at?.getTime() ?? run.clock.now();
    await run.jobs.updateProgress(run.lease, {
      window: { depth: 'catchup', since: null, until: new Date(until).toISOString() },
    });
    return { depth: 'catchup', since: null, until };
  }
  const explicitSince = parseTime(run.config.since);
  const explicitUntil = parseTime(run.config.until);
  const depth = isSyncDepth(run.config.depth)
    ? run.config.depth
    : explicitSince !== null
      ? 'window'
      : run.settings
        ? await run.settings.get('sync.defaultDepth')
        : '7d';
  const started = run.job.started_at?.getTime() ?? run.clock.now();
  const until = explicitUntil !== null ? Math.min(explicitUntil, started) : started;
  const since = explicitSince ?? (isSyncDepth(depth) ? sinceForDepth(depth, until) : null);
  await run.jobs.updateProgress(run.lease, {
    window: {
      depth,
      since: since === null ? null : new Date(since).toISOString(),
      until: new Date(until).toISOString(),
    },
  });
  return { depth, since, until };
}

function parseTime(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

async function prepareChats(run: JobRun): Promise<SyncJobChat[]> {
  const jobId = run.job.id;
  const existing = await run.db
    .selectFrom('sync_job_chats')
    .selectAll()
    .where('job_id', '=', jobId)
    .execute();
  if (existing.length > 0 || readProgress(run.job.progress).parts.messages === 'done') return existing;
  const listing = await run.plugin.listChats(run.ctx);
  let chats: ChatInfo[] = listing.chats;
  const only = [
    ...(run.config.channelId ? [run.config.channelId] : []),
    ...(Array.isArray(run.config.chatIds) ? run.config.chatIds.filter((id) => typeof id === 'string') : []),
  ];
  if (only.length > 0) {
    const listed = chats.filter(
      (c) => only.includes(c.id) || (typeof c.altId === 'string' && only.includes(c.altId)),
    );
    const found = new Set(listed.flatMap((c) => [c.id, ...(c.altId ? [c.altId] : [])]));
    chats = [
      ...listed,
      ...only
        .filter((id) => !found.has(id))
        .map((id): ChatInfo => ({ id: toChatId(id), name: null, kind: 'channel', readable: true })),
    ];
  }
  const unique = [...new Map(chats.map((c) => [c.id, c])).values()];
  const unreadable = unique.filter((c) => !c.readable);
  const warnings = [
    ...listing.warnings,
    ...unreadable.map((c) => `chat ${c.name ?? c.id} skipped: ${c.reason ?? 'not readable'}`),
  ];
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    if (unique.length > 0) {
      await trx
        .insertInto('sync_job_chats')
        .values(
          unique.map((c) => ({
            job_id: jobId,
            chat_id: c.id,
            chat_name: c.name,
            status: c.readable ? ('pending' as const) : ('skipped' as const),
            last_error: c.readable ? null : (c.reason ?? 'not readable'),
          })),
        )
        .onConflict((oc) => oc.columns(['job_id', 'chat_id']).doNothing())
        .execute();
      await run.directory.upsertChats(
        trx,
        run.instance.id,
        unique.map((chat) => ({ chat })),
      );
    }
    await run.jobs.updateProgress(
      run.lease,
      {
        chatsTotal: unique.length - unreadable.length,
        skippedChats: unreadable.map((c) => ({
          chatId: c.id,
          name: c.name,
          reason: c.reason ?? 'not readable',
        })),
      },
      { warnings },
      trx,
    );
  });
  return run.db.selectFrom('sync_job_chats').selectAll().where('job_id', '=', jobId).execute();
}

async function oldestStored(
  run: JobRun,
  chat: string,
  since: number | null,
): Promise<StoredMessageRef | null> {
  let q = run.db
    .selectFrom('messages')
    .select(['external_id', 'sent_at', 'sender_id', 'raw'])
    .where('instance_id', '=', run.instance.id)
    .where('chat_external_id', '=', chat)
    .where('kind', 'not in', ['edit', 'revoke', 'reaction']);
  if (since !== null) q = q.where('sent_at', '>=', new Date(since));
  const row = await q.orderBy('sent_at').orderBy('id').limit(1).executeTakeFirst();
  if (!row) return null;
  return {
    externalId: row.external_id,
    timestamp: row.sent_at.getTime(),
    senderId: row.sender_id,
    raw: (row.raw ?? null) as JsonValue,
  };
}

async function queueMedia(run: JobRun, rows: InsertedMessage[]): Promise<void> {
  const queue = run.media;
  if (!queue) return;
  const plugin = run.plugin;
  for (const { id, message } of rows) {
    const descriptor = message.media[0];
    if (!descriptor) continue;
    const item = {
      instanceId: run.instance.id,
      messageId: id,
      sentAt: message.timestamp,
      descriptor,
      message,
    };
    if (descriptor.base64) {
      await queue.enqueue(item);
    } else if (run.downloadMedia && hasMedia(plugin)) {
      await queue.enqueue({ ...item, fetch: () => plugin.downloadMedia(run.mediaCtx, descriptor, message) });
    }
  }
}

async function finishChat(
  run: JobRun,
  chat: SyncJobChat,
  status: 'done' | 'exhausted' = 'done',
): Promise<void> {
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    const updated = await trx
      .updateTable('sync_job_chats')
      .set({ status, ...(status === 'exhausted' ? { exhausted: true } : {}), updated_at: sql`now()` })
      .where('job_id', '=', run.job.id)
      .where('chat_id', '=', chat.chat_id)
      .where('status', 'in', ['pending', 'running', 'failed'])
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) {
      await run.jobs.updateProgress(
        run.lease,
        {},
        { counters: { chatsDone: 1, chatsExhausted: status === 'exhausted' ? 1 : 0 } },
        trx,
      );
    }
  });
  run.tracker.onBatch(chat.chat_id, null, true);
}

async function failChat(run: JobRun, chat: SyncJobChat, error: Error): Promise<void> {
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    const updated = await trx
      .updateTable('sync_job_chats')
      .set({ status: 'failed', last_error: error.message, updated_at: sql`now()` })
      .where('job_id', '=', run.job.id)
      .where('chat_id', '=', chat.chat_id)
      .where('status', '!=', 'failed')
      .executeTakeFirst();
    // Counted once per failed chat (in `failed` and `chatsFailed`); listed in `failedChats` at the end.
    const counted = Number(updated.numUpdatedRows) > 0 ? 1 : 0;
    await run.jobs.updateProgress(
      run.lease,
      {},
      {
        counters: { failed: counted, chatsFailed: counted },
        warnings: [`chat ${chat.chat_name ?? chat.chat_id} failed: ${error.message}`],
      },
      trx,
    );
  });
}

/** One part `[since, until)` of a chat's window (`since` null = from the beginning). */
interface Segment {
  since: number | null;
  until: number;
}

const segmentKey = (s: Segment) => `${s.since}:${s.until}`;

/** Where a chat's fetch stands. */
interface ChatState {
  /** The segment being fetched, which `cursor` belongs to. */
  segment: Segment | null;
  cursor: JsonValue | null;
  /** The chat's history is known to begin inside the window. */
  exhausted: boolean;
  /** Lower edge of the last range written while the segment was still open, UTC ms. */
  openEdge: number | null;
  /** Segments fetched by this run (never asked twice, whatever a plugin answers). */
  fetched: Set<string>;
  /**
   * With `force`, the ids the platform returned for the open segment, when this run fetched it from
   * its start (a resumed segment's earlier ids are unknown: nothing is marked deleted then).
   */
  seen: Set<string> | null;
}

/**
 * The newest part of the window the chat's coverage ledger lacks, or `null` when nothing is
 * missing. A `catchup` job asks only for what is newer than the chat's newest covered point. A
 * platform that pages only from a stored message (`historyPaging: 'stored-message'`) is not asked
 * for a gap with no stored message at or after its start while older ones exist: that part
 * arrives pushed.
 */
async function nextGap(run: JobRun, chat: SyncJobChat, window: SyncWindow, state: ChatState) {
  const chatId = chat.chat_id;
  const ranges = (await readCoverage(run.db, run.instance.id, [chatId])).get(chatId) ?? [];
  let since = window.since;
  if (run.job.type === 'catchup') {
    const top = ranges.at(-1);
    if (!top) return null;
    since = top.to;
  }
  const byAnchor = run.plugin.capabilities.historyPaging === 'stored-message';
  const gaps = uncoveredGaps(ranges, since, window.until);
  if (gaps.length === 0 && ranges[0]?.fromReason === 'exhausted' && window.since !== null) {
    const oldest = await oldestStored(run, chatId, null);
    if (oldest === null || oldest.timestamp > window.since) state.exhausted = true;
  }
  for (const gap of gaps) {
    const segment: Segment = { since: gap.from === 0 && since === null ? null : gap.from, until: gap.to };
    if (state.fetched.has(segmentKey(segment))) continue;
    if (byAnchor && (await oldestStored(run, chatId, segment.since)) === null) {
      if ((await oldestStored(run, chatId, null)) !== null) continue;
    }
    return segment;
  }
  return null;
}

/** Opens a segment: the chat's cursor now belongs to it (and starts empty). */
async function openSegment(run: JobRun, chat: SyncJobChat, segment: Segment, state: ChatState) {
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    await trx
      .updateTable('sync_job_chats')
      .set({
        segment_since: segment.since === null ? null : new Date(segment.since),
        segment_until: new Date(segment.until),
        cursor: null,
        updated_at: sql`now()`,
      })
      .where('job_id', '=', run.job.id)
      .where('chat_id', '=', chat.chat_id)
      .execute();
  });
  state.segment = segment;
  state.cursor = null;
  state.seen = run.config.force === true ? new Set() : null;
}

/**
 * After a forced re-fetch of a whole segment: rows of the chat in it that the platform no longer
 * returned are marked deleted (counted as `updated`), fenced by the run's lease.
 */
async function markGone(run: JobRun, chat: SyncJobChat, segment: Segment, seen: Set<string>): Promise<void> {
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    let q = trx
      .updateTable('messages')
      .set({ deleted_at: sql`now()` })
      .where('instance_id', '=', run.instance.id)
      .where('chat_external_id', '=', chat.chat_id)
      .where('deleted_at', 'is', null)
      .where('kind', 'not in', ['edit', 'revoke', 'reaction'])
      .where('sent_at', '<', new Date(segment.until));
    if (segment.since !== null) q = q.where('sent_at', '>=', new Date(segment.since));
    if (seen.size > 0) q = q.where(sql<boolean>`not (external_id = any(${[...seen]}::text[]))`);
    const gone = Number((await q.executeTakeFirst()).numUpdatedRows);
    if (gone > 0) await run.jobs.updateProgress(run.lease, {}, { counters: { updated: gone } }, trx);
  });
}

function oldestOf(messages: readonly { timestamp: number }[]): number | null {
  let oldest: number | null = null;
  for (const m of messages) {
    if (Number.isFinite(m.timestamp) && (oldest === null || m.timestamp < oldest)) oldest = m.timestamp;
  }
  return oldest;
}

/**
 * Fetches the open segment from its cursor, batch by batch; each batch commits its messages, the
 * chat's checkpoint and the span it completes in the coverage ledger together: `[oldest + 1 ms,
 * until)` while more follows (lower edge `failed` until the segment goes further), `[since, until)`
 * on the last batch (`depth`), from the beginning when the platform has nothing older
 * (`exhausted`).
 *
 * One page ahead: while batch N is written, the platform request for batch N+1 (and its budget
 * wait) runs and the batch is encoded (`prepareBatch`), so a chat's pages follow each other at the
 * pace of its requests or of its writes, whichever is slower, not of both. Writes stay strictly in
 * order — N+1 is sent only after N committed and the stop check after N (run while N+1 is fetched)
 * passed — so each checkpoint
 * follows the one before it and every write is fenced as before. A batch whose predecessor failed,
 * or fetched ahead of a stop (cancel, shutdown, lease lost), is dropped unstored: its cursor is not
 * moved, it is fetched again from the committed one. The last batch of a segment starts no further
 * fetch.
 */
async function fetchSegment(run: JobRun, chat: SyncJobChat, segment: Segment, state: ChatState) {
  const batches = run.plugin.fetchHistory(run.ctx, {
    chatId: chat.chat_id as ChatId,
    since: segment.since,
    until: segment.until,
    cursor: state.cursor,
    anchor: await oldestStored(run, chat.chat_id, segment.since),
  });
  const complete = (exhausted: boolean): CoverageExtension => {
    const beginning = exhausted || segment.since === null;
    return {
      from: beginning ? 0 : (segment.since as number),
      to: segment.until,
      fromReason: beginning ? 'exhausted' : 'depth',
      toReason: 'depth',
    };
  };
  /** The batch being written; `done` settles after its commit and the bookkeeping that follows it. */
  let writing: { done: Promise<void>; final: boolean } | null = null;
  /**
   * Waits for the batch being written (its error, if any, is thrown here): `none` when there was
   * none, else whether it was the segment's last.
   */
  const settle = async (): Promise<'none' | 'final' | 'more'> => {
    const current = writing;
    writing = null;
    if (!current) return 'none';
    await current.done;
    return current.final ? 'final' : 'more';
  };
  try {
    for await (const batch of batches) {
      const exhausted = batch.exhausted === true;
      const final = exhausted || !batch.hasMore;
      if (exhausted) state.exhausted = true;
      const oldest = oldestOf(batch.messages);
      const coverage: CoverageExtension | undefined = final
        ? complete(exhausted)
        : oldest !== null && oldest + 1 <= segment.until
          ? { from: oldest + 1, to: segment.until, fromReason: 'failed', toReason: 'depth' }
          : undefined;
      const waits = run.tracker.takeWaits();
      const prepared = run.writer.prepareBatch({
        instanceId: run.instance.id,
        messages: batch.messages,
        returnInserted: 'withMedia',
        checkpoint: {
          lease: run.lease,
          chatId: chat.chat_id,
          cursor: batch.cursor,
          ...(exhausted ? { exhausted: true } : {}),
          progress: waits,
          ...(coverage ? { coverage } : {}),
        },
      });
      try {
        await settle();
      } catch (error) {
        run.tracker.restoreWaits(waits);
        throw error;
      }
      const done = run.writer.writeBatch(prepared).then(
        async (result) => {
          if (state.seen) for (const m of batch.messages) state.seen.add(m.externalId);
          state.cursor = batch.cursor;
          state.openEdge = final ? null : (coverage?.from ?? state.openEdge);
          run.batches += 1;
          run.tracker.onBatch(chat.chat_id, result.oldestTimestamp, false, result.fetched);
          run.onBatchCommitted({
            jobId: run.job.id,
            chatId: chat.chat_id,
            batch: run.batches,
            fetched: result.fetched,
            stored: result.stored,
            duplicates: result.duplicates,
            updated: result.updated,
            final,
          });
          await queueMedia(run, result.inserted);
          await run.tracker.maybeEmit();
          // The stop check between batches, right after this one committed: it overlaps the next
          // page's request, and a stop it finds drops that page unstored.
          if (!final) await run.checkStop();
        },
        (error: unknown) => {
          run.tracker.restoreWaits(waits);
          throw error;
        },
      );
      // Observed by `settle`; this only keeps a failure that the next fetch overtakes from being
      // reported as unhandled meanwhile.
      done.catch(() => {});
      writing = { done, final };
      if (final) break;
      // Let the driver send the statement (a few ticks away) before the next batch is fetched and
      // encoded: a page a plugin already holds would otherwise be encoded first, on the same thread.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    // A fetch that fails while a batch is being written: that batch commits (or fails) first.
    await settle();
    throw error;
  }
  if ((await settle()) === 'final') return;
  // The plugin ended without a last batch (nothing in the segment): the segment is complete.
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    await extendCoverage(trx, run.instance.id, chat.chat_id, complete(false));
  });
}

/**
 * Syncs one chat: with `force` its whole window, else each gap of its coverage ledger, newest
 * first, re-planned from the ledger after every segment (so what an earlier attempt or job stored
 * is not asked again). A resumed chat first finishes the segment its cursor belongs to.
 */
async function syncChat(run: JobRun, chat: SyncJobChat, window: SyncWindow): Promise<void> {
  const key = {
    instanceId: run.instance.id,
    channel: run.ctx.instance.channel,
    identity: rateIdentity(run.ctx.instance),
  };
  const hooks = {
    signal: run.ctx.signal,
    onWait: (w: Parameters<typeof run.tracker.addWait>[0]) => run.tracker.addWait(w),
  };
  const force = run.config.force === true;
  const state: ChatState = {
    segment: chat.segment_until
      ? { since: chat.segment_since?.getTime() ?? null, until: chat.segment_until.getTime() }
      : null,
    cursor: (chat.cursor ?? null) as JsonValue | null,
    exhausted: chat.exhausted,
    openEdge: null,
    fetched: new Set(),
    seen: null,
  };
  if (force && !state.segment && chat.status !== 'pending') state.fetched.add(segmentKey(window));
  let transientAttempts = 0;
  if (chat.status !== 'running') {
    await run.db.transaction().execute(async (trx) => {
      await holdLease(trx, run.lease);
      await trx
        .updateTable('sync_job_chats')
        .set({ status: 'running', last_error: null, updated_at: sql`now()` })
        .where('job_id', '=', run.job.id)
        .where('chat_id', '=', chat.chat_id)
        .execute();
      // A chat that failed in an earlier run is tried again: it no longer counts as failed (the
      // row was read under this lease, and no other run writes it).
      if (chat.status === 'failed') {
        await run.jobs.updateProgress(run.lease, {}, { counters: { failed: -1, chatsFailed: -1 } }, trx);
      }
    });
  }
  for (;;) {
    await run.checkStop();
    try {
      for (;;) {
        if (!state.segment) {
          const next = force
            ? state.fetched.has(segmentKey(window))
              ? null
              : { since: window.since, until: window.until }
            : await nextGap(run, chat, window, state);
          if (!next) break;
          await openSegment(run, chat, next, state);
        }
        const segment = state.segment as Segment;
        await fetchSegment(run, chat, segment, state);
        if (state.seen) await markGone(run, chat, segment, state.seen);
        state.seen = null;
        state.fetched.add(segmentKey(segment));
        state.segment = null;
      }
      await finishChat(run, chat, state.exhausted ? 'exhausted' : 'done');
      return;
    } catch (error) {
      if (error instanceof StopSignal || error instanceof LeaseLostError || run.stopReason) {
        if (run.stopReason === 'cancelled' && state.openEdge !== null) {
          const edge = state.openEdge;
          await run.db.transaction().execute(async (trx) => {
            await holdLease(trx, run.lease);
            await markCoverageEdge(trx, run.instance.id, chat.chat_id, edge, 'cancelled');
          });
        }
        throw error;
      }
      if (error instanceof RateLimitedError) {
        // Refused from inside the iterator: cool down, then ask again from the last committed cursor.
        await run.limiter.backoff(key, 'messages', error, hooks);
        continue;
      }
      if (error instanceof TransientError && transientAttempts < run.maxChatRetries) {
        transientAttempts += 1;
        await run.clock.sleep(run.retryBaseMs * 2 ** (transientAttempts - 1), run.ctx.signal);
        continue;
      }
      if (error instanceof PermanentError || error instanceof NotFoundError) {
        await failChat(run, chat, error);
        return;
      }
      throw error;
    }
  }
}

/**
 * The job's expected message count, fixed at its first start (kept across resumes): the estimate
 * of the plan it was started from (`planId`, probes included), else the sync plan's estimate over
 * the job's window and readable chats from stored history alone; and how many chats had no basis.
 */
async function resolveEstimate(
  run: JobRun,
  window: SyncWindow,
  chats: SyncJobChat[],
): Promise<{ estimatedTotal: number; unestimatedChats: number }> {
  const progress = readProgress(run.job.progress);
  if (progress.estimatedTotal !== undefined) {
    return { estimatedTotal: progress.estimatedTotal, unestimatedChats: progress.unestimatedChats ?? 0 };
  }
  const planned = run.config.planEstimate;
  if (planned && typeof planned.messages === 'number' && Array.isArray(planned.unestimatedChatIds)) {
    const without = new Set(planned.unestimatedChatIds);
    const estimate = {
      estimatedTotal: planned.messages,
      unestimatedChats: chats.filter((c) => without.has(c.chat_id)).length,
    };
    await run.jobs.updateProgress(run.lease, estimate);
    return estimate;
  }
  // No plan: estimated from what is stored, without spending requests on probes.
  const plan = await buildSyncPlan(run.db, run.instance.id, {
    type: run.job.type === 'catchup' ? 'catchup' : 'messages',
    depth: isSyncDepth(window.depth) ? window.depth : 'all',
    since: window.since,
    until: window.until,
    chatIds: chats.map((c) => c.chat_id),
    anchorOnly: run.plugin.capabilities.historyPaging === 'stored-message',
    // Only the message estimate is used: paging and pace do not change it.
    pageSize: 100,
    requestsPerMinute: 1,
  });
  const estimate = { estimatedTotal: plan.estimatedMessages, unestimatedChats: plan.unestimatedChats };
  await run.jobs.updateProgress(run.lease, estimate);
  return estimate;
}

/**
 * The `messages` part: fixes the window, lists chats once (unreadable ones skipped with their
 * reason), then syncs chats `chatConcurrency` at a time, each from its checkpoint.
 */
export async function syncMessages(run: JobRun): Promise<void> {
  const window = await resolveWindow(run);
  const chats = await prepareChats(run);
  const todo = chats.filter((c) => c.status === 'pending' || c.status === 'running' || c.status === 'failed');
  const readable = chats.filter((c) => c.status !== 'skipped');
  run.tracker.setPlan(
    window,
    readable.length,
    readable.filter((c) => c.status === 'done' || c.status === 'exhausted').map((c) => c.chat_id),
  );
  const estimate = await resolveEstimate(run, window, readable);
  run.tracker.setEstimate(
    estimate.unestimatedChats > 0 ? null : estimate.estimatedTotal,
    readProgress(run.job.progress).fetched,
  );
  await run.tracker.maybeEmit(true);
  const queue = [...todo];
  let firstError: unknown = null;
  const worker = async () => {
    while (queue.length > 0 && firstError === null && run.stopReason === null) {
      const chat = queue.shift() as SyncJobChat;
      try {
        await syncChat(run, chat, window);
      } catch (error) {
        if (error instanceof LeaseLostError) run.stopReason ??= 'lease-lost';
        else if (!(error instanceof StopSignal) && firstError === null) {
          firstError = error;
          run.stopReason ??= 'error';
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(run.chatConcurrency, queue.length)) }, worker));
  if (firstError !== null) throw firstError;
  await run.checkStop();
  if (run.media) {
    await run.media.drain();
    await backfillMedia(
      run,
      readable.map((c) => c.chat_id),
      window,
      run.mediaFailedIds,
    );
  }
  const ended = await run.db
    .selectFrom('sync_job_chats')
    .select(['chat_id', 'chat_name', 'oldest_at', 'status', 'last_error'])
    .where('job_id', '=', run.job.id)
    .where('status', 'in', ['exhausted', 'failed'])
    .orderBy('chat_id')
    .execute();
  await run.jobs.updateProgress(run.lease, {
    exhaustedChats: ended
      .filter((c) => c.status === 'exhausted')
      .map((c) => ({
        chatId: c.chat_id,
        name: c.chat_name,
        oldestTimestamp: c.oldest_at ? c.oldest_at.toISOString() : null,
      })),
    failedChats: ended
      .filter((c) => c.status === 'failed')
      .map((c) => ({ chatId: c.chat_id, name: c.chat_name, reason: c.last_error ?? 'failed' })),
  });
}
