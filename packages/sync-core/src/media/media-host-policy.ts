/**
 * Lower-case host name without the trailing dot of a fully qualified name
 * (`CDN.DiscordApp.com.` → `cdn.discordapp.com`).
 */
export function normalizeHost(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * True when `hostname` is on `allowed`: an exact name (`cdn.discordapp.com`) or a wildcard for
 * its subdomains (`*.whatsapp.net` matches `mmg.whatsapp.net`, not `whatsapp.net` itself nor
 * `evilwhatsapp.net`). Case and a trailing dot do not matter.
 */
export function hostAllowed(hostname: string, allowed: readonly string[]): boolean {
  const host = normalizeHost(hostname);
  if (host === '') return false;
  return allowed.some((entry) => {
    const pattern = normalizeHost(entry.trim());
    if (pattern.startsWith('*.')) {
      const suffix = pattern.slice(1);
      return host.endsWith(suffix) && host.length > suffix.length;
    }
    return pattern !== '' && host === pattern;
  });
}

/**
 * The origins of `MEDIA_ALLOW_ORIGINS` (comma-separated, e.g. `http://127.0.0.1:39000`), each
 * normalized as `URL.origin` (scheme, host and port). An empty or absent list allows nothing.
 * Throws `TypeError` naming an entry that is not an http(s) origin (a path, query or credentials
 * are not part of an origin and are refused rather than silently dropped).
 */
export function parseAllowOrigins(text: string | undefined | null): string[] {
  if (!text) return [];
  const origins: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new TypeError(`MEDIA_ALLOW_ORIGINS: "${entry}" is not an origin like http://127.0.0.1:39000`);
    }
    const bare = url.pathname === '/' && url.search === '' && url.hash === '' && !url.username;
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !bare) {
      throw new TypeError(
        `MEDIA_ALLOW_ORIGINS: "${entry}" is not an origin (scheme://host[:port], http or https only)`,
      );
    }
    origins.push(url.origin);
  }
  return origins;
}
