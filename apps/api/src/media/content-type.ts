import { createRequire } from 'node:module';

/** The little of `mime` 3 used here (the package ships no types). */
interface MimeLookup {
  getType(path: string): string | null;
}

const mime = createRequire(import.meta.url)('mime') as MimeLookup;
const UTF8_TYPES = /^(text\/|application\/json|application\/javascript)/;

/**
 * `Content-Type` of a stored file from its extension, as @fastify/static answered: `mime`'s
 * table, `application/octet-stream` when unknown, `; charset=utf-8` on text, JSON and JavaScript.
 */
export function contentTypeFor(path: string): string {
  const type = mime.getType(path) ?? 'application/octet-stream';
  return UTF8_TYPES.test(type) ? `${type}; charset=utf-8` : type;
}
