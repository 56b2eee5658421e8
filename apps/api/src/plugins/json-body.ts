import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/api-error.ts';

/**
 * An empty `application/json` body (a POST without payload) reads as no body. Accepts a JSON body sent as `application/x-www-form-urlencoded` — what `curl -d '{…}'` sends
 * without a content type. A body that looks like JSON is parsed as JSON; a real form body is
 * parsed into an object of strings.
 */
export const jsonBodyPlugin = fp(
  async (app: FastifyInstance) => {
    const defaultJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (String(body).trim() === '') return done(null, undefined);
      return defaultJson(request, String(body), done);
    });
    // A POST without a body validates as `{}`: body-less actions work, and a missing required
    // field is reported by name instead of "body must be object".
    app.addHook('preValidation', async (request) => {
      if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH')) {
        request.body = {};
      }
    });
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        const text = String(body).trim();
        if (text === '') return done(null, {});
        if (text.startsWith('{') || text.startsWith('[')) {
          try {
            return done(null, JSON.parse(text));
          } catch (error) {
            return done(
              new ApiError(400, 'BAD_REQUEST', `malformed JSON body: ${(error as Error).message}`),
              undefined,
            );
          }
        }
        return done(null, Object.fromEntries(new URLSearchParams(text)));
      },
    );
  },
  { name: 'json-body' },
);
