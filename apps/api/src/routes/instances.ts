import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Data, errorResponses, IdParams, List, PageQuery } from '../schemas/common.ts';
import {
  ConnectBody,
  CreateInstanceBody,
  Instance,
  InstanceStatus,
  UpdateInstanceBody,
} from '../schemas/instance.ts';
import { InstanceService } from '../services/instance-service.ts';
import { toInstanceDto } from '../services/mappers.ts';

/** `/instances`: create, list, read, update, delete, connect, disconnect, status. */
export const instanceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const instances = new InstanceService(app.deps);
  const tags = ['instances'];

  app.post(
    '/instances',
    {
      schema: {
        tags,
        summary: 'Create an instance',
        body: CreateInstanceBody,
        response: { 201: Data(Instance), ...errorResponses(400, 401, 409) },
      },
    },
    async (request, reply) => {
      const row = await instances.create(request.body);
      return reply.status(201).send({ data: toInstanceDto(row) });
    },
  );

  app.get(
    '/instances',
    {
      schema: {
        tags,
        summary: 'List instances',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: List(Instance), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const page = await instances.list(request.query.limit ?? 50, request.query.cursor);
      return { items: page.items.map(toInstanceDto), meta: { hasMore: page.hasMore, cursor: page.cursor } };
    },
  );

  app.get(
    '/instances/:id',
    {
      schema: {
        tags,
        summary: 'Read an instance with its profile',
        params: IdParams,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({ data: toInstanceDto(await instances.get(request.params.id)) }),
  );

  app.patch(
    '/instances/:id',
    {
      schema: {
        tags,
        summary: 'Update name, downloadMediaOnSync or isActive',
        params: IdParams,
        body: UpdateInstanceBody,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => ({ data: toInstanceDto(await instances.update(request.params.id, request.body)) }),
  );

  app.delete(
    '/instances/:id',
    {
      schema: {
        tags,
        summary: 'Delete an instance and its synced data',
        params: IdParams,
        response: {
          200: Data(Type.Object({ id: Type.String(), deleted: Type.Boolean() })),
          ...errorResponses(400, 401, 404, 409),
        },
      },
    },
    async (request) => {
      await instances.remove(request.params.id);
      return { data: { id: request.params.id, deleted: true } };
    },
  );

  app.post(
    '/instances/:id/connect',
    {
      schema: {
        tags,
        summary: 'Connect with a token (Discord): validated, stored encrypted, profile synced',
        params: IdParams,
        body: ConnectBody,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404, 422, 429, 503) },
      },
    },
    async (request) => ({
      data: toInstanceDto(await instances.connect(request.params.id, request.body.token)),
    }),
  );

  app.post(
    '/instances/:id/disconnect',
    {
      schema: {
        tags,
        summary: 'Forget the credentials',
        params: IdParams,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => ({ data: toInstanceDto(await instances.disconnect(request.params.id)) }),
  );

  app.get(
    '/instances/:id/status',
    {
      schema: {
        tags,
        summary: 'Connection status',
        params: IdParams,
        response: { 200: Data(InstanceStatus), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const row = await instances.get(request.params.id);
      return {
        data: {
          state: row.connection_state,
          isConnected: InstanceService.isConnected(row),
          profileName: row.profile_name,
        },
      };
    },
  );
};
