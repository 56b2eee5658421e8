import { bareMime } from './mime-types.ts';

/**
 * True for the types a browser may show inline: images (not SVG), audio, video and PDF. Only a
 * type sniffed from the bytes is trusted this far; see {@link storedExtension}.
 */
export function isInlineSafeMime(mime: string | null | undefined): boolean {
  const bare = bareMime(mime);
  if (!bare || isMarkupMime(bare)) return false;
  return (
    bare.startsWith('image/') ||
    bare.startsWith('audio/') ||
    bare.startsWith('video/') ||
    bare === 'application/pdf'
  );
}

/** True for SVG, HTML, XHTML and XML types (anything a browser may run script from). */
export function isMarkupMime(mime: string | null | undefined): boolean {
  const bare = bareMime(mime);
  if (!bare) return false;
  return (
    bare === 'text/html' ||
    bare === 'text/xml' ||
    bare === 'application/xml' ||
    bare.endsWith('+xml') ||
    bare === 'text/xsl' ||
    bare === 'application/xslt+xml'
  );
}

/**
 * True when the first bytes read as markup: after an optional UTF-8/UTF-16 byte-order mark and
 * whitespace, a `<` (`<svg`, `<!DOCTYPE html>`, `<?xml`, `<script>`…).
 */
export function looksLikeMarkup(head: Uint8Array): boolean {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  else if ((head[0] === 0xfe && head[1] === 0xff) || (head[0] === 0xff && head[1] === 0xfe)) {
    const step = 2;
    const offset = head[0] === 0xff ? 0 : 1;
    for (i = 2; i + step <= head.length; i += step) {
      const c = head[i + offset];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
      return c === 0x3c;
    }
    return false;
  }
  for (; i < head.length; i++) {
    const c = head[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) continue;
    return c === 0x3c;
  }
  return false;
}

/** True when `mime` is named on `patterns` exactly (a wildcard such as `image/*` does not count). */
export function mimeListedExactly(mime: string | null, patterns: readonly string[]): boolean {
  const bare = bareMime(mime);
  return bare !== null && patterns.some((p) => p.trim().toLowerCase() === bare);
}

/**
 * The extension a stored file gets, which is also how it is served (the media route types files
 * by extension and serves inline only the {@link isInlineSafeMime} ones): the sniffed type's
 * extension when the bytes confirmed a type, else `bin` — a declared type is never trusted to
 * pick how a browser treats the file (`bin` is served as an attachment).
 */
export function storedExtension(sniffed: { ext: string } | undefined): string {
  return sniffed?.ext ?? 'bin';
}
