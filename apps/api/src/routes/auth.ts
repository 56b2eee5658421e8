import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Data, errorResponses } from '../schemas/common.ts';

/** Name omni-sync gives its single key in Omni's key shape. */
const KEY_NAME = 'omni-sync';

/**
 * `POST /auth/validate`: the dashboard's login. The auth hook has already refused a missing or
 * wrong key (401), so reaching the handler means the key is valid; omni-sync has one key with
 * every scope.
 */
export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/auth/validate',
    {
      schema: {
        tags: ['auth'],
        summary: 'Validate the API key (the dashboard login)',
        response: {
          200: Data(
            Type.Object({
              valid: Type.Boolean(),
              keyPrefix: Type.String({ description: 'the first characters of the key' }),
              keyName: Type.String(),
              scopes: Type.Array(Type.String()),
            }),
          ),
          ...errorResponses(401),
        },
      },
    },
    async () => ({
      data: { valid: true, keyPrefix: app.deps.apiKey.slice(0, 8), keyName: KEY_NAME, scopes: ['*'] },
    }),
  );
};
