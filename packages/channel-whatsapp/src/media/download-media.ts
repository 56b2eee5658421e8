import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  type MediaDescriptor,
  MediaError,
  type PluginContext,
  RateLimitedError,
  TransientError,
} from '@omni/sync-core';
import { downloadMediaMessage, type WAMessage } from '@whiskeysockets/baileys';
import { disconnectStatusOf } from '../connection/reconnect-backoff.ts';
import { type WhatsAppMediaKey, whatsAppMediaKeyOf } from '../normalize/media-descriptor.ts';
import { translateSocketError } from '../socket/socket-errors.ts';
import type { WhatsAppSocket } from '../socket/whatsapp-socket.ts';

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

async function openStream(message: WAMessage): Promise<Readable> {
  return (await downloadMediaMessage(message, 'stream', {})) as Readable;
}

/**
 * Verifies a decrypted stream against the expected SHA-256 (hex) as it flows; a mismatch errors
 * the stream at its end (so a storage writer discards its temp file) with `MediaError`
 * `sha256-mismatch`. Baileys itself does not check the plaintext hash.
 */
export function verifySha256(source: Readable, expectedHex: string | undefined): ReadableStream<Uint8Array> {
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
          new MediaError('download-failed', 'WhatsApp media could not be downloaded or decrypted', {
            cause: error,
            details: { whatsapp: 'decrypt_failed' },
          }),
        );
      }
    },
    cancel(reason) {
      source.destroy(reason instanceof Error ? reason : undefined);
    },
  });
}

function downloadError(error: unknown, status: number | null, afterReupload: boolean): Error {
  if (status !== null && EXPIRED_STATUS.has(status)) {
    return new MediaError(
      'download-failed',
      afterReupload
        ? `WhatsApp media is gone (HTTP ${status}) even after a re-upload request`
        : `WhatsApp media expired (HTTP ${status})`,
      { cause: error, details: { whatsapp: afterReupload ? 'expired_after_reupload' : 'expired', status } },
    );
  }
  if (status !== null && (status >= 500 || status === 408 || status === 429)) {
    return new TransientError(`WhatsApp media server answered HTTP ${status}`, { cause: error, status });
  }
  if (status === null) {
    return new TransientError('WhatsApp media download failed', {
      cause: error,
      details: { whatsapp: 'network' },
    });
  }
  return new MediaError('download-failed', `WhatsApp media download failed (HTTP ${status})`, {
    cause: error,
    details: { whatsapp: 'http', status },
  });
}

/**
 * Downloads and decrypts one WhatsApp media file. On 404/410 it asks the phone once to re-upload
 * (`updateMediaMessage`) and retries with the new URL; otherwise a `MediaError` (or, for 5xx and
 * network failures, a retryable `TransientError`) says why.
 */
export async function downloadWhatsAppMedia(
  ctx: PluginContext,
  socket: () => Promise<WhatsAppSocket>,
  media: MediaDescriptor,
): Promise<ReadableStream<Uint8Array>> {
  const key = whatsAppMediaKeyOf(media);
  if (!key?.mediaKey || (!key.url && !key.directPath)) {
    throw new MediaError('no-source', 'media descriptor has no WhatsApp download key');
  }
  let message = messageForMedia(key);
  try {
    const stream = await ctx.request('media', () => openStream(message));
    return verifySha256(stream, media.sha256);
  } catch (error) {
    const status = disconnectStatusOf(error);
    if (status === null || !EXPIRED_STATUS.has(status)) throw downloadError(error, status, false);
    ctx.log.info({ messageId: key.messageKey.id, status }, 'WhatsApp media expired: requesting re-upload');
  }
  const sock = await socket();
  try {
    message = await ctx.request('media', () =>
      sock.updateMediaMessage(message).catch((error: unknown) => {
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
  try {
    const stream = await ctx.request('media', () => openStream(message));
    return verifySha256(stream, media.sha256);
  } catch (error) {
    throw downloadError(error, disconnectStatusOf(error), true);
  }
}
