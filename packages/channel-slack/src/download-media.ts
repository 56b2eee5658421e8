import {
  type MediaDescriptor,
  NotFoundError,
  PermanentError,
  type PluginContext,
  TransientError,
} from '@omni/sync-core';
import type { SlackApiClient } from './slack-api-client.ts';
import type { SlackPluginOptions } from './slack-plugin-options.ts';

/**
 * Streams a private Slack file (`url_private_download`) with the token as bearer through the
 * engine's media fetcher (`ctx.fetchMedia`: https, a host of `fileHosts`, public addresses,
 * checked redirects that drop the token when they leave the origin, time and size bounds).
 * Slack answers a file it will not serve to this token with its HTML sign-in page (status 200):
 * that is refused, never stored as the file.
 */
export async function downloadSlackMedia(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  media: MediaDescriptor,
): Promise<ReadableStream<Uint8Array>> {
  const url = media.url;
  if (!url) throw new PermanentError('Slack media descriptor has no URL');
  const where = url.split('?')[0];
  return ctx.request('media', async () => {
    const res = await ctx.fetchMedia(url, {
      allowedHosts: options.fileHosts,
      headers: { authorization: `Bearer ${api.token}` },
    });
    if (res.ok && res.body) {
      const type = res.headers.get('content-type') ?? '';
      if (type.startsWith('text/html') && !(media.mimeType ?? '').startsWith('text/html')) {
        await res.body.cancel();
        throw new PermanentError(
          `Slack answered its sign-in page for ${where}: the token lacks files:read or cannot see the file`,
        );
      }
      return res.body;
    }
    await res.body?.cancel();
    if (res.status >= 500 || res.status === 429) {
      throw new TransientError(`Slack files answered ${res.status} for ${where}`, { status: res.status });
    }
    if (res.status === 404 || res.status === 410)
      throw new NotFoundError(`Slack file gone (${res.status}): ${where}`);
    throw new PermanentError(`Slack files answered ${res.status} for ${where}`, { status: res.status });
  });
}
