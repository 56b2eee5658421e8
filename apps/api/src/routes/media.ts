import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import { BufferPool } from '../media/buffer-pool.ts';
import { MEDIA_SECURITY_HEADERS } from '../media/content-type.ts';
import {
  confinedMediaFile,
  ENCODED_TRICKS,
  isMediaPath,
  MEDIA_MAX_PATH_LENGTH,
} from '../media/media-path.ts';
import { sendMediaFile } from '../media/send-media-file.ts';
import { ApiKeyQuery, errorResponses, Uuid } from '../schemas/common.ts';

/** Options of {@link mediaRoutes}. */
export interface MediaRoutesOptions {
  /** Leave the route out of the OpenAPI document (the alias outside `/api/v2`). */
  hide?: boolean;
  /**
   * Buffers the bodies are read into; share one between registrations to share its memory bound.
   * @defaultValue a new `BufferPool` with its defaults
   */
  buffers?: BufferPool;
}

/**
 * `GET|HEAD /media/:instanceId/*`: stored media (type, ranges, 416, ETag, Last-Modified, 304;
 * see {@link sendMediaFile}), confined to `media.storagePath`: every segment must be a plain
 * file name, and the real path (symlinks resolved) must stay inside the instance's folder. Only
 * images, audio, video and PDF are served inline; everything else as an attachment of type
 * `application/octet-stream`; every answer says `X-Content-Type-Options: nosniff` and
 * `Content-Security-Policy: default-src 'none'; sandbox`.
 */
export const mediaRoutes: FastifyPluginAsyncTypebox<MediaRoutesOptions> = async (app, options) => {
  const buffers = options.buffers ?? new BufferPool();
  app.get(
    '/media/:instanceId/*',
    {
      config: { apiKeyInQuery: true },
      // On every answer of the route, refusals (400, 401, 404, 416) included: set in onSend, which
      // runs for error replies too, not in the handler, which a refused request never reaches.
      onSend: (_request, reply, payload, done) => {
        reply.headers(MEDIA_SECURITY_HEADERS);
        done(null, payload);
      },
      schema: {
        hide: options.hide ?? false,
        tags: ['media'],
        summary: 'A stored media file (supports Range)',
        params: Type.Object({ instanceId: Uuid, '*': Type.String({ maxLength: MEDIA_MAX_PATH_LENGTH }) }),
        querystring: ApiKeyQuery,
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
      if (ENCODED_TRICKS.test(rawRest) || rest === '' || !isMediaPath(segments)) {
        throw ApiError.validation('invalid media path', [{ in: 'params', path: '/*' }]);
      }
      const file = confinedMediaFile(await app.deps.settings.get('media.storagePath'), instanceId, segments);
      if (file === null) throw ApiError.notFound('media file');
      return sendMediaFile(request, reply, file, buffers);
    },
  );
};
