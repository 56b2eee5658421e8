import {
  CancelledError,
  type FetchHistoryParams,
  type HistoryBatch,
  PermanentError,
  type PluginContext,
} from '@omni/sync-core';
import { isChatJid, isLidJid } from '../identity/jid.ts';
import type { WhatsAppSession } from '../session/whatsapp-session.ts';
import { cursorFromAnchor, type HistoryCursor, parseHistoryCursor } from './history-cursor.ts';

/**
 * Pages one chat backwards through the phone: `fetchMessageHistory(pageSize, oldestKey,
 * oldestTimestamp)` from the cursor, else the anchor (oldest stored message), else the oldest
 * message seen in pushed history. Each request goes through `ctx.request('messages', …)` and waits
 * for its correlated ON_DEMAND answer; a timeout surfaces as `TransientError` (phone offline —
 * the job resumes from the last cursor). A chat with no known message is asked for from `until`.
 * An empty answer ends the chat: `exhausted: true` with a depth (its history begins after `since`),
 * completed with `all`; reaching `since` ends it with `hasMore: false`.
 */
export async function* fetchWhatsAppHistory(
  ctx: PluginContext,
  session: WhatsAppSession,
  params: FetchHistoryParams,
  pageSize: number,
): AsyncGenerator<HistoryBatch> {
  if (!isChatJid(params.chatId)) {
    throw new PermanentError(`not a WhatsApp chat JID: ${JSON.stringify(params.chatId).slice(0, 80)}`, {
      details: { chatId: params.chatId },
    });
  }
  const socket = await session.ensureOpen();
  let start: HistoryCursor | null =
    parseHistoryCursor(params.cursor) ??
    (params.anchor ? cursorFromAnchor(params.anchor, params.chatId, session.self.id) : null) ??
    session.chats.oldestOf(params.chatId);
  if (start) {
    // After a restart the in-memory map is empty: the stored chat id and the JID the phone used for
    // the anchor name the same chat, and Baileys' own store may know the LID's phone number.
    session.identity.linkPair(start.remoteJid, params.chatId);
    if (isLidJid(start.remoteJid) && !session.identity.pnOf(start.remoteJid)) {
      const pn = await socket.signalRepository.lidMapping.getPNForLID(start.remoteJid).catch(() => null);
      session.identity.link(start.remoteJid, pn);
    }
  }
  const chat = session.identity.canonical(params.chatId);
  if (!start) {
    // No message of this chat is known anywhere: ask the phone for what precedes `until` (a key it
    // cannot know, so it answers by time) instead of declaring a chat with no known message empty.
    ctx.log.info({ chatId: chat }, 'no message of this chat is known: asking the phone from the window end');
    start = { id: '', remoteJid: params.chatId, fromMe: false, participant: null, timestampMs: params.until };
  }
  if (params.since !== null && start.timestampMs < params.since) {
    yield { messages: [], cursor: start, hasMore: false };
    return;
  }
  for (;;) {
    if (ctx.signal.aborted)
      throw new CancelledError('history paging cancelled', { details: { chatId: chat } });
    const from: HistoryCursor = start;
    const answer = await ctx.request('messages', () =>
      session.requestHistory(chat, from, pageSize, ctx.signal),
    );
    const older = answer.messages
      .filter(({ normalized: m }) => m.externalId !== from.id && m.timestamp <= from.timestampMs)
      .sort((a, b) => a.normalized.timestamp - b.normalized.timestamp);
    const oldest = older[0];
    if (!oldest) {
      // Nothing older: with a depth the history begins after `since` (exhausted); with `all` the
      // start was reached, which completes the chat — as on every channel.
      yield {
        messages: [],
        cursor: from,
        hasMore: false,
        ...(params.since !== null ? { exhausted: true } : {}),
      };
      return;
    }
    const key = oldest.wa.key;
    start = {
      id: key.id ?? oldest.normalized.externalId,
      remoteJid: key.remoteJid ?? from.remoteJid,
      fromMe: key.fromMe === true,
      participant: key.participant ?? null,
      timestampMs: oldest.normalized.timestamp,
    };
    const reachedSince = params.since !== null && oldest.normalized.timestamp < params.since;
    const messages = older
      .map((m) => m.normalized)
      .filter((m) => (params.since === null || m.timestamp >= params.since) && m.timestamp < params.until);
    yield { messages, cursor: start, hasMore: !reachedSince };
    if (reachedSince) return;
  }
}
