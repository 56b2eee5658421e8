import {
  type MediaDescriptor,
  NotFoundError,
  PermanentError,
  type PluginContext,
  TransientError,
} from '@omni/sync-core';
import type { SlackApiClient } from './slack-api-client.ts';
import type { SlackPluginOptions } from './slack-plugin-options.ts';

const MAX_REDIRECTS = 3;

/** Whether a file URL may receive the token: https (or a configured test host) on an allowed host. */
export function allowedFileUrl(raw: string, hosts: readonly string[]): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (!hosts.includes(url.host) && !hosts.includes(url.hostname)) return null;
  if (url.protocol === 'https:') return url;
  // Plain http only for hosts named with their port (a local fake), never for Slack's own hosts.
  return url.protocol === 'http:' && hosts.includes(url.host) && url.port !== '' ? url : null;
}

/**
 * Streams a private Slack file (`url_private_download`) with the token as bearer. The token goes
 * only to hosts on `fileHosts`; a redirect elsewhere is refused. Slack answers a file it will not
 * serve to this token with its HTML sign-in page (status 200): that is refused, not stored.
 */
export async function downloadSlackMedia(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  media: MediaDescriptor,
): Promise<ReadableStream<Uint8Array>> {
  const first = media.url ? allowedFileUrl(media.url, options.fileHosts) : null;
  if (!first)
    throw new PermanentError('Slack file URL is not on an allowed file host', {
      details: { fileHosts: options.fileHosts },
    });
  return ctx.request('media', async () => {
    let url = first;
    for (let hop = 0; ; hop++) {
      const res = await api.fetchFile(url.href, ctx.signal);
      const where = url.pathname;
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const next = res.headers.get('location');
        const target = next ? allowedFileUrl(new URL(next, url).href, options.fileHosts) : null;
        if (!target || hop >= MAX_REDIRECTS)
          throw new PermanentError(`Slack file redirected off the allowed hosts (${where})`);
        url = target;
        continue;
      }
      if (res.ok && res.body) {
        if (
          (res.headers.get('content-type') ?? '').startsWith('text/html') &&
          !(media.mimeType ?? '').startsWith('text/html')
        ) {
          await res.body.cancel();
          throw new PermanentError(
            `Slack answered its sign-in page for ${where}: the token lacks files:read or the file is gone`,
          );
        }
        return res.body;
      }
      await res.body?.cancel();
      if (res.status >= 500 || res.status === 429)
        throw new TransientError(`Slack files answered ${res.status} for ${where}`, { status: res.status });
      if (res.status === 404 || res.status === 410)
        throw new NotFoundError(`Slack file gone (${res.status}): ${where}`);
      throw new PermanentError(`Slack files answered ${res.status} for ${where}`, { status: res.status });
    }
  });
}
