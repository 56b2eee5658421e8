import { createHash } from 'node:crypto';
import {
  CancelledError,
  type MediaDescriptor,
  MediaError,
  MediaRefusedError,
  type PluginContext,
  RateLimitedError,
  TransientError,
} from '@omni/sync-core';
import { DEF_MEDIA_HOST, getMediaKeys, type WAMessage } from '@whiskeysockets/baileys';
import { disconnectStatusOf } from '../connection/reconnect-backoff.ts';
import {
  MEDIA_CONTENT_TYPES,
  type MediaContentLike,
  type WhatsAppMediaKey,
  whatsAppMediaKeyOf,
} from '../normalize/media-descriptor.ts';
import { translateSocketError } from '../socket/socket-errors.ts';
import type { WhatsAppSocket } from '../socket/whatsapp-socket.ts';
import { decryptWhatsAppMedia } from './media-decryptor.ts';
import { WHATSAPP_MEDIA_HOSTS } from './media-hosts.ts';

/** HTTP statuses meaning the media expired on WhatsApp's servers: ask the phone to re-upload. */
const EXPIRED_STATUS = new Set([404, 410]);

/** Rebuilds the Baileys message a download or re-upload request needs from a media key. */
export function messageForMedia(key: WhatsAppMediaKey): WAMessage {
  const bytes = (b64: string | null) => (b64 ? Buffer.from(b64, 'base64') : null);
  const content = {
    url: key.url,
    directPath: key.directPath,
    mediaKey: bytes(key.mediaKey),
    fileSha256: bytes(key.fileSha256),
    fileEncSha256: bytes(key.fileEncSha256),
    mediaKeyTimestamp: key.mediaKeyTimestamp,
  };
  const messageKey: WAMessage['key'] = {
    remoteJid: key.messageKey.remoteJid,
    id: key.messageKey.id,
    fromMe: key.messageKey.fromMe,
  };
  if (key.messageKey.participant) messageKey.participant = key.messageKey.participant;
  return { key: messageKey, message: { [key.contentType]: content } } as WAMessage;
}

/**
 * The URL Baileys would download from: `directPath` on the URL's host (else `mmg.whatsapp.net`),
 * or the `url` itself. Both come from the sender's message: the fetcher checks whatever it is.
 */
export function mediaUrlOf(location: { url?: string | null; directPath?: string | null }): string | null {
  if (location.directPath) {
    let host = DEF_MEDIA_HOST;
    try {
      if (location.url) host = new URL(location.url).host;
    } catch {
      // Baileys falls back to its default host for an unparsable URL too.
    }
    return `https://${host}${location.directPath}`;
  }
  return location.url ?? null;
}

/**
 * Verifies a decrypted stream against the expected SHA-256 (hex) as it flows; a mismatch errors
 * the stream at its end (so a storage writer discards its temp file) with `MediaError`
 * `sha256-mismatch`. Errors of the source that say why already (fetcher refusals, cancel, network,
 * `MediaError`) pass through; anything else becomes `download-failed`.
 */
export function verifySha256(
  source: AsyncIterable<Uint8Array>,
  expectedHex: string | undefined,
): ReadableStream<Uint8Array> {
  const hash = createHash('sha256');
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) {
          const actual = hash.digest('hex');
          if (expectedHex && actual !== expectedHex.toLowerCase()) {
            controller.error(
              new MediaError('sha256-mismatch', 'decrypted WhatsApp media does not match its fileSha256', {
                details: { expected: expectedHex, actual },
              }),
            );
            return;
          }
          controller.close();
          return;
        }
        const chunk = value instanceof Uint8Array ? value : Buffer.from(value as string);
        hash.update(chunk);
        controller.enqueue(chunk);
      } catch (error) {
        controller.error(
          error instanceof MediaError ||
            error instanceof MediaRefusedError ||
            error instanceof CancelledError ||
            error instanceof TransientError
            ? error
            : new MediaError('download-failed', 'WhatsApp media could not be downloaded or decrypted', {
                cause: error,
                details: { whatsapp: 'decrypt_failed' },
              }),
        );
      }
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

function statusError(status: number, afterReupload: boolean): Error {
  if (EXPIRED_STATUS.has(status)) {
    return new MediaError(
      'download-failed',
      afterReupload
        ? `WhatsApp media is gone (HTTP ${status}) even after a re-upload request`
        : `WhatsApp media expired (HTTP ${status})`,
      { details: { whatsapp: afterReupload ? 'expired_after_reupload' : 'expired', status } },
    );
  }
  if (status >= 500 || status === 408 || status === 429) {
    return new TransientError(`WhatsApp media server answered HTTP ${status}`, { status });
  }
  return new MediaError('download-failed', `WhatsApp media download failed (HTTP ${status})`, {
    details: { whatsapp: 'http', status },
  });
}

/** The encrypted body, or the status that refused it. */
async function fetchEncrypted(
  ctx: PluginContext,
  url: string,
  allowedHosts: readonly string[],
): Promise<{ body: ReadableStream<Uint8Array> } | { status: number }> {
  const res = await ctx.fetchMedia(url, { allowedHosts });
  if (res.ok && res.body) return { body: res.body };
  await res.body?.cancel();
  return { status: res.status };
}

/**
 * Downloads and decrypts one WhatsApp media file through the engine's media fetcher
 * (`ctx.fetchMedia`: the URL a contact's message names is checked like any other — https, a
 * WhatsApp media host, a public address — and bounded in time and size), then decrypts it here
 * with the keys Baileys derives (AES-256-CBC, MAC checked) and verifies the plaintext SHA-256. On
 * 404/410 it asks the phone once to re-upload (`updateMediaMessage`) and fetches the new URL;
 * otherwise a `MediaError` (or, for 5xx and network failures, a retryable `TransientError`) says
 * why, and a refusal is the fetcher's `MediaRefusedError`.
 */
export async function downloadWhatsAppMedia(
  ctx: PluginContext,
  socket: () => Promise<WhatsAppSocket>,
  media: MediaDescriptor,
  allowedHosts: readonly string[] = WHATSAPP_MEDIA_HOSTS,
): Promise<ReadableStream<Uint8Array>> {
  const key = whatsAppMediaKeyOf(media);
  const url = key ? mediaUrlOf(key) : null;
  if (!key?.mediaKey || !url) {
    throw new MediaError('no-source', 'media descriptor has no WhatsApp download key');
  }
  const { iv, cipherKey, macKey } = await getMediaKeys(key.mediaKey, MEDIA_CONTENT_TYPES[key.contentType]);
  if (!macKey) throw new MediaError('no-source', 'the WhatsApp media key yields no MAC key');
  const keys = { iv, cipherKey, macKey };
  const decrypted = (body: ReadableStream<Uint8Array>) =>
    verifySha256(decryptWhatsAppMedia(body, keys), media.sha256);

  const first = await ctx.request('media', () => fetchEncrypted(ctx, url, allowedHosts));
  if ('body' in first) return decrypted(first.body);
  if (!EXPIRED_STATUS.has(first.status)) throw statusError(first.status, false);
  ctx.log.info(
    { messageId: key.messageKey.id, status: first.status },
    'WhatsApp media expired: requesting re-upload',
  );

  const sock = await socket();
  let renewed: WAMessage;
  try {
    renewed = await ctx.request('media', () =>
      sock.updateMediaMessage(messageForMedia(key)).catch((error: unknown) => {
        throw translateSocketError(error, 'the media re-upload request');
      }),
    );
  } catch (error) {
    if (error instanceof RateLimitedError || error instanceof TransientError) throw error;
    throw new MediaError('download-failed', 'WhatsApp media expired and the phone could not re-upload it', {
      cause: error,
      details: { whatsapp: 'reupload_failed', status: disconnectStatusOf(error) },
    });
  }
  const content = renewed.message?.[key.contentType] as MediaContentLike | null | undefined;
  const renewedUrl = content ? mediaUrlOf(content) : null;
  if (!renewedUrl) {
    throw new MediaError('download-failed', 'the re-uploaded WhatsApp media has no URL', {
      details: { whatsapp: 'reupload_failed' },
    });
  }
  const second = await ctx.request('media', () => fetchEncrypted(ctx, renewedUrl, allowedHosts));
  if ('body' in second) return decrypted(second.body);
  throw statusError(second.status, true);
}
