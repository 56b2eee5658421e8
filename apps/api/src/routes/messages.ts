import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Message as MessageRow } from '@omni/db';
import { sql } from 'kysely';
import { ApiError } from '../errors/api-error.ts';
import { errorResponses, IdParams, List } from '../schemas/common.ts';
import { Message, MessagesQuery } from '../schemas/message.ts';
import { InstanceService } from '../services/instance-service.ts';
import { decodeCursor, keysetPage, malformedCursor, queryDate, toMessageDto } from '../services/mappers.ts';

/** `GET /instances/:id/messages`: what was synced, filtered by chat and time, keyset-paged. */
export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const instances = new InstanceService(app.deps);
  app.get(
    '/instances/:id/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'Stored messages (newest first unless order=asc)',
        params: IdParams,
        querystring: MessagesQuery,
        response: { 200: List(Message), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { chatId, since, until, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const desc = (request.query.order ?? 'desc') === 'desc';
      const instance = await instances.get(id);
      if (chatId) instances.checkChatId(instance, chatId, { in: 'querystring', path: '/chatId' });
      const sinceDate = since ? queryDate(since, 'since') : undefined;
      const untilDate = until ? queryDate(until, 'until') : undefined;
      if (sinceDate && untilDate && sinceDate > untilDate) {
        throw ApiError.validation('since must not be after until', [{ in: 'querystring', path: '/since' }]);
      }
      let query = app.deps.db.db
        .selectFrom('messages')
        .selectAll()
        .select(
          sql<string>`to_char(sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('sent_text'),
        )
        .where('instance_id', '=', id);
      if (chatId) query = query.where('chat_external_id', '=', chatId);
      if (sinceDate) query = query.where('sent_at', '>=', sinceDate);
      if (untilDate) query = query.where('sent_at', '<', untilDate);
      if (cursor) {
        const parts = decodeCursor(cursor, ['timestamp', 'uuid']);
        if (!parts) throw malformedCursor();
        query = desc
          ? query.where(sql<boolean>`(sent_at, id) < (${parts[0]}::timestamptz, ${parts[1]}::uuid)`)
          : query.where(sql<boolean>`(sent_at, id) > (${parts[0]}::timestamptz, ${parts[1]}::uuid)`);
      }
      const rows = await query
        .orderBy('sent_at', desc ? 'desc' : 'asc')
        .orderBy('id', desc ? 'desc' : 'asc')
        .limit(limit + 1)
        .execute();
      const { page, hasMore, cursor: next } = keysetPage(rows, limit, (last) => [last.sent_text, last.id]);
      return {
        items: page.map(({ sent_text: _, ...row }) => toMessageDto(row as MessageRow)),
        meta: { hasMore, cursor: next },
      };
    },
  );
};
