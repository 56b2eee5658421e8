import type { SyncJobChat } from '@omni/db';
import { sql } from 'kysely';
import { type ChatInfo, hasMedia, type StoredMessageRef } from '../contract/channel-plugin.ts';
import { type ChatId, type JsonValue, chatId as toChatId } from '../contract/ids.ts';
import { LeaseLostError } from '../errors/lease-lost-error.ts';
import { NotFoundError } from '../errors/not-found-error.ts';
import { PermanentError } from '../errors/permanent-error.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { holdLease } from '../jobs/job-repository.ts';
import { readProgress } from '../jobs/sync-progress.ts';
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
  const depth = isSyncDepth(run.config.depth)
    ? run.config.depth
    : run.settings
      ? await run.settings.get('sync.defaultDepth')
      : '7d';
  const until = run.job.started_at?.getTime() ?? run.clock.now();
  const since = sinceForDepth(depth, until);
  await run.jobs.updateProgress(run.lease, {
    window: {
      depth,
      since: since === null ? null : new Date(since).toISOString(),
      until: new Date(until).toISOString(),
    },
  });
  return { depth, since, until };
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
  const only = run.config.channelId;
  if (only) {
    chats = chats.filter((c) => c.id === only || c.altId === only);
    if (chats.length === 0) chats = [{ id: toChatId(only), name: null, kind: 'channel', readable: true }];
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

async function oldestStored(run: JobRun, chat: string): Promise<StoredMessageRef | null> {
  const row = await run.db
    .selectFrom('messages')
    .select(['external_id', 'sent_at', 'sender_id', 'raw'])
    .where('instance_id', '=', run.instance.id)
    .where('chat_external_id', '=', chat)
    .where('kind', 'not in', ['edit', 'revoke', 'reaction'])
    .orderBy('sent_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
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

async function finishChat(run: JobRun, chat: SyncJobChat): Promise<void> {
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    const updated = await trx
      .updateTable('sync_job_chats')
      .set({ status: 'done', updated_at: sql`now()` })
      .where('job_id', '=', run.job.id)
      .where('chat_id', '=', chat.chat_id)
      .where('status', 'in', ['pending', 'running', 'failed'])
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) {
      await run.jobs.updateProgress(run.lease, {}, { counters: { chatsDone: 1 } }, trx);
    }
  });
  run.tracker.onBatch(chat.chat_id, null, true);
}

async function failChat(run: JobRun, chat: SyncJobChat, error: Error): Promise<void> {
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    await trx
      .updateTable('sync_job_chats')
      .set({ status: 'failed', last_error: error.message, updated_at: sql`now()` })
      .where('job_id', '=', run.job.id)
      .where('chat_id', '=', chat.chat_id)
      .execute();
    await run.jobs.updateProgress(
      run.lease,
      {},
      { warnings: [`chat ${chat.chat_name ?? chat.chat_id} failed: ${error.message}`] },
      trx,
    );
  });
}

async function syncChat(run: JobRun, chat: SyncJobChat, window: SyncWindow): Promise<void> {
  const key = { instanceId: run.instance.id, channel: run.ctx.instance.channel };
  const hooks = {
    signal: run.ctx.signal,
    onWait: (w: Parameters<typeof run.tracker.addWait>[0]) => run.tracker.addWait(w),
  };
  let cursor = (chat.cursor ?? null) as JsonValue | null;
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
    });
  }
  for (;;) {
    await run.checkStop();
    try {
      const anchor = await oldestStored(run, chat.chat_id);
      let finished = false;
      const batches = run.plugin.fetchHistory(run.ctx, {
        chatId: chat.chat_id as ChatId,
        since: window.since,
        until: window.until,
        cursor,
        anchor,
      });
      for await (const batch of batches) {
        const exhausted = batch.exhausted === true;
        const final = exhausted || !batch.hasMore;
        const waits = run.tracker.takeWaits();
        let result: Awaited<ReturnType<typeof run.writer.writeBatch>>;
        try {
          result = await run.writer.writeBatch({
            instanceId: run.instance.id,
            messages: batch.messages,
            returnInserted: 'withMedia',
            checkpoint: {
              lease: run.lease,
              chatId: chat.chat_id,
              cursor: batch.cursor,
              ...(final ? { status: exhausted ? ('exhausted' as const) : ('done' as const) } : {}),
              ...(exhausted ? { exhausted: true } : {}),
              progress: { ...waits, ...(final ? { chatsDone: 1, chatsExhausted: exhausted ? 1 : 0 } : {}) },
            },
          });
        } catch (error) {
          run.tracker.restoreWaits(waits);
          throw error;
        }
        cursor = batch.cursor;
        transientAttempts = 0;
        run.batches += 1;
        run.tracker.onBatch(chat.chat_id, result.oldestTimestamp, final);
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
        if (final) {
          finished = true;
          break;
        }
        await run.checkStop();
      }
      if (!finished) await finishChat(run, chat);
      return;
    } catch (error) {
      if (error instanceof StopSignal || error instanceof LeaseLostError || run.stopReason) throw error;
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
  const exhausted = await run.db
    .selectFrom('sync_job_chats')
    .select(['chat_id', 'chat_name', 'oldest_at'])
    .where('job_id', '=', run.job.id)
    .where('status', '=', 'exhausted')
    .orderBy('chat_id')
    .execute();
  await run.jobs.updateProgress(run.lease, {
    exhaustedChats: exhausted.map((c) => ({
      chatId: c.chat_id,
      name: c.chat_name,
      oldestTimestamp: c.oldest_at ? c.oldest_at.toISOString() : null,
    })),
  });
}
