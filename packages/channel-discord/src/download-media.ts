import {
  type MediaDescriptor,
  NotFoundError,
  PermanentError,
  type PluginContext,
  TransientError,
} from '@omni/sync-core';
import type { DiscordRestClient } from './discord-rest-client.ts';

/** Answer of `POST /attachments/refresh-urls` (not typed by discord-api-types 0.38). */
interface RefreshUrlsResult {
  refreshed_urls: { original: string; refreshed: string }[];
}

/**
 * Hosts Discord serves attachments and their proxied forms from: the default of the plugin's
 * `mediaHosts` option. The API base (`DISCORD_API_URL`) is not among them: it is trusted for API
 * calls only.
 */
export const DISCORD_MEDIA_HOSTS: readonly string[] = [
  'cdn.discordapp.com',
  'media.discordapp.net',
  'images-ext-1.discordapp.net',
  'images-ext-2.discordapp.net',
];

/**
 * Streams an attachment through the engine's media fetcher (`ctx.fetchMedia`: https, a host of
 * `allowedHosts`, public addresses, checked redirects, time and size bounds — a refusal is a
 * `MediaRefusedError`). Signed URLs expire after about a day: on a 404/403 the URL is renewed
 * with `POST /attachments/refresh-urls` and the renewed URL, checked the same way, fetched once more.
 */
export async function downloadDiscordMedia(
  ctx: PluginContext,
  api: DiscordRestClient,
  media: MediaDescriptor,
  allowedHosts: readonly string[] = DISCORD_MEDIA_HOSTS,
): Promise<ReadableStream<Uint8Array>> {
  const url = media.url;
  if (!url) throw new PermanentError('Discord media descriptor has no URL');
  return ctx.request('media', async () => {
    let res = await ctx.fetchMedia(url, { allowedHosts });
    if (res.status === 404 || res.status === 403) {
      await res.body?.cancel();
      const refreshed = await api.post<RefreshUrlsResult>(
        '/attachments/refresh-urls',
        { attachment_urls: [url] },
        { signal: ctx.signal },
      );
      const fresh = refreshed.refreshed_urls.find((r) => r.original === url)?.refreshed;
      if (typeof fresh !== 'string')
        throw new NotFoundError(`attachment no longer exists: ${url.split('?')[0]}`);
      api.stats.urlRefreshes++;
      res = await ctx.fetchMedia(fresh, { allowedHosts });
    }
    if (res.ok && res.body) return res.body;
    await res.body?.cancel();
    const where = url.split('?')[0];
    if (res.status >= 500 || res.status === 429) {
      throw new TransientError(`CDN answered ${res.status} for ${where}`, { status: res.status });
    }
    if (res.status === 404) throw new NotFoundError(`CDN answered 404 for ${where} even after refreshing`);
    throw new PermanentError(`CDN answered ${res.status} for ${where}`, { status: res.status });
  });
}
