import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/api-error.ts';

/**
 * An empty `application/json` body (a POST without payload) reads as no body. Accepts a JSON body sent as `application/x-www-form-urlencoded` — what `curl -d '{…}'` sends
 * without a content type. A body that looks like JSON is parsed as JSON; a real form body is
 * parsed into an object of strings. Both go through Fastify's prototype-poisoning guard (a
 * `__proto__` or `constructor.prototype` key is a 400), as `application/json` does.
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
    app.addHook('preValidation', (request, _reply, done) => {
      if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH')) {
        request.body = {};
      }
      done();
    });
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (request, body, done) => {
        const text = String(body).trim();
        if (text === '') return done(null, {});
        if (text.startsWith('{') || text.startsWith('[')) {
          // Fastify's own JSON parser: `__proto__` and `constructor.prototype` keys are refused.
          return defaultJson(request, text, (error, value) =>
            error
              ? done(new ApiError(400, 'BAD_REQUEST', `malformed JSON body: ${error.message}`), undefined)
              : done(null, value),
          );
        }
        const form: Record<string, string> = {};
        for (const [key, value] of new URLSearchParams(text)) {
          if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
            return done(new ApiError(400, 'BAD_REQUEST', `forbidden form field name: ${key}`), undefined);
          }
          form[key] = value;
        }
        return done(null, form);
      },
    );
  },
  { name: 'json-body' },
);
