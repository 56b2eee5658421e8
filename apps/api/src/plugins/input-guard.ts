import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors/api-error.ts';

/** The first place (`in`, JSON pointer) where `value` holds a string or key with a NUL character. */
export function findNul(value: unknown, where: string): { in: string; path: string } | null {
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
    app.addHook('preValidation', async (request) => {
      const found =
        findNul(request.params, 'params') ??
        findNul(request.query, 'querystring') ??
        findNul(request.body, 'body');
      if (found) {
        throw ApiError.validation(`invalid ${found.in}: a value holds a NUL character (\\u0000)`, [
          { ...found, message: 'must not contain NUL characters' },
        ]);
      }
    });
  },
  { name: 'input-guard', dependencies: ['error-handler'] },
);
