import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Instance as InstanceRow } from '@omni/db';
import { instanceId } from '@omni/sync-core';
import { Type } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import { Data, errorResponses, IdParams, List } from '../schemas/common.ts';
import {
  ConnectAnswer,
  ConnectBody,
  CreateInstanceBody,
  Instance,
  InstanceStatus,
  InstancesQuery,
  OmniInstanceFields,
  PairBody,
  PairingCode,
  QrCode,
  UpdateInstanceBody,
} from '../schemas/instance.ts';
import { InstanceService } from '../services/instance-service.ts';
import { toInstanceDto } from '../services/mappers.ts';

const OMNI_KEYS = Object.keys(OmniInstanceFields);

/** Splits a body into omni-sync's own fields and Omni's stored-and-echoed ones. */
function splitOmni<T extends Record<string, unknown>>(body: T): { own: T; omni: Record<string, unknown> } {
  const own: Record<string, unknown> = {};
  const omni: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) (OMNI_KEYS.includes(key) ? omni : own)[key] = value;
  return { own: own as T, omni };
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Omni's `{status, message}` for an instance's connection state. */
function connectAnswer(row: InstanceRow, verb: 'connect' | 'restart') {
  const status =
    row.connection_state === 'open'
      ? 'connected'
      : row.connection_state === 'qr'
        ? 'qr'
        : verb === 'restart'
          ? 'restarting'
          : 'connecting';
  const message =
    status === 'connected'
      ? 'connected'
      : status === 'qr'
        ? 'scan the QR code: GET /instances/:id/qr'
        : verb === 'restart'
          ? 'restart initiated'
          : 'connection initiated';
  return { data: { ...toInstanceDto(row), instanceId: row.id, status, message } };
}

/** `/instances`: create, list, read, update, delete, connect, disconnect, restart, status; WhatsApp qr, pair, logout. */
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
      const { own, omni } = splitOmni(request.body);
      const row = await instances.create({ ...own, omni });
      return reply.status(201).send({ data: toInstanceDto(row) });
    },
  );

  app.get(
    '/instances',
    {
      schema: {
        tags,
        summary: 'List instances (channel and status filters take comma lists)',
        querystring: InstancesQuery,
        response: { 200: List(Instance), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const page = await instances.list(request.query.limit ?? 50, request.query.cursor, {
        channels: list(request.query.channel),
        active: list(request.query.status).map((s) => s === 'active'),
      });
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
        summary: "Update name, downloadMediaOnSync, isActive or Omni's instance fields",
        params: IdParams,
        body: UpdateInstanceBody,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const { own, omni } = splitOmni(request.body);
      return { data: toInstanceDto(await instances.update(request.params.id, { ...own, omni })) };
    },
  );

  app.delete(
    '/instances/:id',
    {
      schema: {
        tags,
        summary:
          'Delete an instance: its synced data, media files and stored credentials; a WhatsApp device is logged out',
        params: IdParams,
        response: {
          200: Data(Type.Object({ id: Type.String(), deleted: Type.Boolean() })),
          ...errorResponses(400, 401, 404, 409),
        },
      },
    },
    async (request) => {
      await instances.remove(request.params.id, request.log);
      app.jobSnapshots.invalidateInstance(request.params.id);
      return { data: { id: request.params.id, deleted: true } };
    },
  );

  app.post(
    '/instances/:id/connect',
    {
      schema: {
        tags,
        summary:
          'Connect: Discord with {token} (validated, stored encrypted, profile synced); WhatsApp starts the socket (then /qr or /pair)',
        params: IdParams,
        body: ConnectBody,
        response: { 200: Data(ConnectAnswer), ...errorResponses(400, 401, 404, 422, 429, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (request.body?.forceNewQr === true) {
        const row = await instances.get(id);
        if (row.channel === 'whatsapp-baileys')
          return connectAnswer(await instances.restart(id, true), 'connect');
      }
      return connectAnswer(await instances.connect(id, request.body?.token), 'connect');
    },
  );

  app.post(
    '/instances/:id/restart',
    {
      schema: {
        tags,
        summary:
          'Restart the connection: WhatsApp reopens its socket (forceNewQr=true forgets the link first); Discord validates its stored token again',
        params: IdParams,
        querystring: Type.Object(
          { forceNewQr: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: Data(ConnectAnswer), ...errorResponses(400, 401, 404, 409, 422, 429, 503) },
      },
    },
    async (request) =>
      connectAnswer(await instances.restart(request.params.id, request.query.forceNewQr === true), 'restart'),
  );

  app.post(
    '/instances/:id/disconnect',
    {
      schema: {
        tags,
        summary: 'Discord: forget the token; WhatsApp: close the socket, keep the link',
        params: IdParams,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404, 503) },
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
        response: { 200: Data(InstanceStatus), ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const row = await instances.get(request.params.id);
      if (row.channel === 'whatsapp-baileys') {
        const live = await instances.whatsappStatus(row.id);
        if (live && live.status !== 'idle') row.connection_state = live.status;
      }
      return {
        data: {
          state: row.connection_state,
          isConnected: InstanceService.isConnected(row),
          profileName: row.profile_name,
        },
      };
    },
  );

  app.get(
    '/instances/:id/qr',
    {
      schema: {
        tags,
        summary: 'WhatsApp: the current QR code to link the phone (qr null when there is none now)',
        params: IdParams,
        response: { 200: Data(QrCode), ...errorResponses(400, 401, 404, 409, 422, 503) },
      },
    },
    async (request) => {
      const row = await instances.get(request.params.id);
      if (row.channel !== 'whatsapp-baileys')
        throw ApiError.unprocessable('only WhatsApp instances link by QR code');
      const { qr, status } = await instances.whatsapp().qr(instanceId(row.id));
      if (!qr) {
        return {
          data: {
            qr: null,
            dataUrl: null,
            expiresAt: null,
            status,
            message:
              status === 'open'
                ? 'the instance is already linked'
                : `no QR code now (status ${status}): POST /instances/:id/connect first`,
          },
        };
      }
      return {
        data: {
          qr: qr.code,
          dataUrl: qr.dataUrl,
          expiresAt: new Date(qr.expiresAt).toISOString(),
          status,
          message: 'scan with WhatsApp → Linked devices → Link a device',
        },
      };
    },
  );

  app.post(
    '/instances/:id/pair',
    {
      schema: {
        tags,
        summary: 'WhatsApp: a pairing code to link the phone by number',
        params: IdParams,
        body: PairBody,
        response: { 200: Data(PairingCode), ...errorResponses(400, 401, 404, 409, 422, 503) },
      },
    },
    async (request) => {
      const row = await instances.get(request.params.id);
      if (row.channel !== 'whatsapp-baileys')
        throw ApiError.unprocessable('only WhatsApp instances link by pairing code');
      return { data: await instances.whatsapp().pair(instanceId(row.id), request.body.phoneNumber) };
    },
  );

  app.post(
    '/instances/:id/logout',
    {
      schema: {
        tags,
        summary: 'WhatsApp: unlink the device and delete its auth state',
        params: IdParams,
        response: { 200: Data(Instance), ...errorResponses(400, 401, 404, 422, 503) },
      },
    },
    async (request) => ({ data: toInstanceDto(await instances.logout(request.params.id)) }),
  );
};
