import { realpath, stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import { errorResponses, Uuid } from '../schemas/common.ts';

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const MAX_DEPTH = 8;
/** Encoded `/`, `\`, `.` and NUL, and raw backslashes, are refused before decoding matters. */
const ENCODED_TRICKS = /%(2f|5c|2e|00)|\\/i;

/** Options of {@link mediaRoutes}. */
export interface MediaRoutesOptions {
  /** Leave the route out of the OpenAPI document (the alias outside `/api/v2`). */
  hide?: boolean;
}

async function realpathOrNull(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

/**
 * `GET|HEAD /media/:instanceId/*`: stored media through @fastify/static (type, ranges, 416,
 * ETag, Last-Modified), confined to `media.storagePath`: every segment must be a plain file
 * name, and the real path (symlinks resolved) must stay inside the instance's folder.
 */
export const mediaRoutes: FastifyPluginAsyncTypebox<MediaRoutesOptions> = async (app, options) => {
  app.get(
    '/media/:instanceId/*',
    {
      schema: {
        hide: options.hide ?? false,
        tags: ['media'],
        summary: 'A stored media file (supports Range)',
        params: Type.Object({ instanceId: Uuid, '*': Type.String({ maxLength: 1024 }) }),
        response: {
          200: Type.String({ format: 'binary' }),
          206: Type.String({ format: 'binary' }),
          ...errorResponses(400, 401, 404, 416),
        },
      },
    },
    async (request, reply) => {
      const { instanceId } = request.params;
      const rest = request.params['*'];
      const rawPath = (request.raw.url ?? '').split('?')[0] ?? '';
      const rawRest = rawPath.slice(rawPath.indexOf(instanceId) + instanceId.length);
      const segments = rest.split('/');
      if (
        ENCODED_TRICKS.test(rawRest) ||
        rest === '' ||
        segments.length > MAX_DEPTH ||
        !segments.every((s) => SEGMENT.test(s))
      ) {
        throw ApiError.validation('invalid media path', [{ in: 'params', path: '/*' }]);
      }
      const storagePath = await app.deps.settings.get('media.storagePath');
      const root = await realpathOrNull(resolve(storagePath));
      if (!root) throw ApiError.notFound('media file');
      const instanceRoot = await realpathOrNull(resolve(root, instanceId));
      const file = await realpathOrNull(resolve(root, instanceId, ...segments));
      if (instanceRoot === null || file === null || !file.startsWith(instanceRoot + sep))
        throw ApiError.notFound('media file');
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) throw ApiError.notFound('media file');
      return reply.sendFile(relative(root, file), root, { dotfiles: 'deny', index: false });
    },
  );
};
