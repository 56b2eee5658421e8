/** The bare, lower-case type of a MIME string (`Audio/OGG; codecs=opus` → `audio/ogg`). */
export function bareMime(mime: string | null | undefined): string | null {
  if (!mime) return null;
  const bare = mime.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(bare) ? bare : null;
}

/** True when `mime` matches one of `patterns` (`image/*`, `*\/*`, exact types). */
export function mimeAllowed(mime: string, patterns: readonly string[]): boolean {
  const bare = bareMime(mime);
  if (!bare) return false;
  const [type] = bare.split('/');
  return patterns.some((p) => {
    const pattern = p.trim().toLowerCase();
    return pattern === '*/*' || pattern === '*' || pattern === bare || pattern === `${type}/*`;
  });
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/svg+xml': 'svg',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/wav': 'wav',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'video/3gpp': '3gp',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/json': 'json',
  'text/plain': 'txt',
  'text/csv': 'csv',
};

/** A file extension for a declared MIME type, used when the content cannot be sniffed. */
export function extensionForMime(mime: string | null): string {
  if (!mime) return 'bin';
  const known = EXTENSIONS[mime];
  if (known) return known;
  const sub =
    mime
      .split('/')[1]
      ?.replace(/^x-/, '')
      .replace(/[^a-z0-9]/g, '') ?? '';
  return sub.length > 0 && sub.length <= 8 ? sub : 'bin';
}
