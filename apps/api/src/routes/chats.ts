import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import {
  Chat,
  ChatMessagesQuery,
  ChatParams,
  ChatParticipant,
  ChatsQuery,
  OmniMessage,
} from '../schemas/chat.ts';
import { Data, errorResponses, List, PageQuery, Uuid } from '../schemas/common.ts';
import { ChatReads, toChat } from '../services/chat-reads.ts';

/** A Host header that is a plain host name or IP literal with an optional port, nothing else. */
const PLAIN_HOST =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The origin absolute media links start with: `PUBLIC_URL` when the deployment set it (what a
 * proxy or cache in front must use: a client's Host header never reaches the answer then), else
 * where this request reached the API, when its Host header is a plain host (400 otherwise).
 */
function originOf(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  if (!PLAIN_HOST.test(request.host))
    throw new ApiError(400, 'BAD_REQUEST', 'the Host header is not a host name');
  return `${request.protocol}://${request.host}`;
}

/**
 * Omni's chat and message reads over what was synced: `GET /chats`, `/chats/:id`,
 * `/chats/:id/messages`, `/chats/:id/participants`, `/messages/:id`.
 */
export const chatRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const reads = new ChatReads(app.deps.db.db, app.deps.db.prepared, app.messagePages);
  const tags = ['chats'];

  app.get(
    '/chats',
    {
      schema: {
        tags,
        summary: 'Synced chats, most recent activity first',
        querystring: ChatsQuery,
        response: { 200: List(Chat), ...errorResponses(400, 401) },
      },
    },
    async (request) => reads.listChats({ ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/chats/:id',
    {
      schema: {
        tags,
        summary: 'One chat, by uuid or platform id',
        params: ChatParams,
        response: { 200: Data(Chat), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({ data: toChat(await reads.getChat(request.params.id)) }),
  );

  app.get(
    '/chats/:id/messages',
    {
      schema: {
        tags,
        summary: "A chat's messages, newest first (before/after are timestamps; cursor pages further back)",
        params: ChatParams,
        querystring: ChatMessagesQuery,
        response: { 200: List(OmniMessage), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const chat = await reads.chatKey(request.params.id);
      const page = await reads.messagePage(
        chat,
        chat.owner_identifier,
        { ...request.query, limit: request.query.limit ?? 50 },
        originOf(request, app.deps.publicUrl),
      );
      // The page is the schema's JSON already (ChatReads.listMessages, tested against toMessage),
      // as bytes: sent as they are — Fastify serialises no Buffer — hence typed past the schema.
      return reply.type('application/json; charset=utf-8').send(page as never);
    },
  );

  app.get(
    '/chats/:id/participants',
    {
      schema: {
        tags,
        summary: 'Members of a chat (its group, its guild, or the other side of a DM)',
        params: ChatParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: List(ChatParticipant), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const chat = await reads.getChat(request.params.id);
      return reads.listParticipants(chat, request.query.limit ?? 50, request.query.cursor);
    },
  );

  app.get(
    '/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'One stored message',
        params: Type.Object({ id: Uuid }),
        response: { 200: Data(OmniMessage), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({
      data: await reads.getMessage(request.params.id, originOf(request, app.deps.publicUrl)),
    }),
  );
};
