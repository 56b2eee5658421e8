import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { isInlineSafeMime } from '@omni/sync-core';

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

/** How a stored file is served: its type, and whether a browser may show it inline. */
export interface ServedType {
  contentType: string;
  /** `undefined` for inline; `attachment` for everything a browser must not render. */
  disposition: 'attachment' | undefined;
}

const ATTACHMENT: ServedType = { contentType: 'application/octet-stream', disposition: 'attachment' };
const byExtension = new Map<string, ServedType>();

/**
 * How a stored file is served. Media storage names a file after the type sniffed from its bytes
 * (`bin` when the bytes confirmed none), so the extension is that type: images (not SVG), audio,
 * video and PDF are served inline with their type; everything else — SVG, HTML, XML, text, `bin`,
 * unknown — as `application/octet-stream` with `Content-Disposition: attachment`. Decided once
 * per extension (a map lookup per request).
 */
export function servedTypeFor(path: string): ServedType {
  const ext = extname(path).toLowerCase();
  let served = byExtension.get(ext);
  if (!served) {
    const type = mime.getType(path);
    served = type && isInlineSafeMime(type) ? { contentType: type, disposition: undefined } : ATTACHMENT;
    if (byExtension.size < 1000) byExtension.set(ext, served);
  }
  return served;
}

/**
 * Headers of every media answer (files, 304s and errors alike): no MIME sniffing by the browser,
 * and a policy that loads nothing and runs nothing should a file ever be rendered as a document.
 */
export const MEDIA_SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
} as const;
