import { sql } from 'kysely';
import { hasMedia } from '../contract/channel-plugin.ts';
import type { ChatId, ExternalMessageId, ExternalUserId, JsonValue } from '../contract/ids.ts';
import type { MediaDescriptor, MessageKind, NormalizedMessage } from '../contract/normalized-message.ts';
import type { JobRun } from './job-run.ts';

const PAGE = 200;

/**
 * Queues media of stored messages in the job's chats and window that has no file yet and was not
 * skipped on purpose: media whose message was committed just before a crash, or whose download
 * failed in an earlier run. Messages whose media failed in this run (`failedIds`) are left alone.
 * Returns how many tasks were queued.
 */
export async function backfillMedia(
  run: JobRun,
  chatIds: readonly string[],
  window: { since: number | null; until: number },
  failedIds: ReadonlySet<string>,
): Promise<number> {
  const queue = run.media;
  if (!queue || chatIds.length === 0) return 0;
  const plugin = run.plugin;
  const canDownload = run.downloadMedia && hasMedia(plugin);
  let lastId = '00000000-0000-0000-0000-000000000000';
  let queued = 0;
  for (;;) {
    let query = run.db
      .selectFrom('messages')
      .select([
        'id',
        'chat_external_id',
        'external_id',
        'sender_id',
        'sender_name',
        'sent_at',
        'kind',
        'text',
        'media_metadata',
        'raw',
      ])
      .where('instance_id', '=', run.instance.id)
      .where(sql<boolean>`chat_external_id = any(${[...chatIds]}::text[])`)
      .where('has_media', '=', true)
      .where('media_local_path', 'is', null)
      .where(sql<boolean>`(media_metadata->>'skipped') is null`)
      .where('sent_at', '<', new Date(window.until))
      .where('id', '>', lastId)
      .orderBy('id')
      .limit(PAGE);
    if (window.since !== null) query = query.where('sent_at', '>=', new Date(window.since));
    if (!canDownload) query = query.where(sql<boolean>`media_metadata ? 'base64'`);
    const rows = await query.execute();
    for (const row of rows) {
      if (failedIds.has(row.id) || !row.media_metadata) continue;
      const { more: _, ...fields } = row.media_metadata as Record<string, unknown>;
      const descriptor = fields as MediaDescriptor;
      const message: NormalizedMessage = {
        externalId: row.external_id as ExternalMessageId,
        chatId: row.chat_external_id as ChatId,
        senderId: row.sender_id as ExternalUserId | null,
        senderName: row.sender_name,
        timestamp: row.sent_at.getTime(),
        kind: row.kind as MessageKind,
        text: row.text,
        media: [descriptor],
        raw: (row.raw ?? null) as JsonValue,
      };
      const base = {
        instanceId: run.instance.id,
        messageId: row.id,
        sentAt: message.timestamp,
        descriptor,
        message,
      };
      if (descriptor.base64) await queue.enqueue(base);
      else if (canDownload && hasMedia(plugin)) {
        await queue.enqueue({
          ...base,
          fetch: () => plugin.downloadMedia(run.mediaCtx, descriptor, message),
        });
      } else continue;
      queued += 1;
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return queued;
    lastId = last.id;
  }
}
