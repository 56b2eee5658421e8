import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/api-error.ts';

/**
 * Whether `value` is an object of strings with no NUL in a key or a value — path parameters and
 * most query strings: nothing to walk.
 */
function isCleanFlat(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    if (typeof item !== 'string' || item.includes('\0') || key.includes('\0')) return false;
  }
  return true;
}

/** The first place (`in`, JSON pointer) where `value` holds a string or key with a NUL character. */
export function findNul(value: unknown, where: string): { in: string; path: string } | null {
  if (value === undefined || value === null || isCleanFlat(value)) return null;
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [current, path] = stack.pop() as [unknown, string];
    if (typeof current === 'string') {
      if (current.includes('\0')) return { in: where, path: path || '/' };
    } else if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push([current[i], `${path}/${i}`]);
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        if (key.includes('\0')) return { in: where, path: at.replaceAll('\0', '\\u0000') };
        stack.push([item, at]);
      }
    }
  }
  return null;
}

/**
 * Refuses, before validation, any path parameter, query value or body string holding a NUL
 * character (400): Postgres cannot store one in text, and no name, id or token has one.
 */
export const inputGuardPlugin = fp(
  async (app: FastifyInstance) => {
    // A callback hook: run on every request, it saves the promise an async one costs.
    app.addHook('preValidation', (request, _reply, done) => {
      const found =
        findNul(request.params, 'params') ??
        findNul(request.query, 'querystring') ??
        findNul(request.body, 'body');
      if (!found) return done();
      done(
        ApiError.validation(`invalid ${found.in}: a value holds a NUL character (\\u0000)`, [
          { ...found, message: 'must not contain NUL characters' },
        ]),
      );
    });
  },
  { name: 'input-guard', dependencies: ['error-handler'] },
);
