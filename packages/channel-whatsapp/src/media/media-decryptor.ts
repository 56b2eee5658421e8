import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { MediaError } from '@omni/sync-core';

/** Length of the truncated HMAC-SHA256 WhatsApp appends to every encrypted media file. */
const MAC_LENGTH = 10;

/** The keys `getMediaKeys` expands from a message's `mediaKey`. */
export interface WhatsAppMediaKeys {
  iv: Uint8Array;
  cipherKey: Uint8Array;
  macKey: Uint8Array;
}

/**
 * Decrypts a WhatsApp media file as it streams: AES-256-CBC over everything but the last 10 bytes,
 * which must equal HMAC-SHA256(macKey, iv ‖ ciphertext) truncated to 10 bytes (checked at the end,
 * in constant time). A bad MAC, padding or a truncated file ends the iteration with a `MediaError`
 * (`download-failed`); errors of `source` (fetcher refusals, cancel, network) pass through as they are.
 */
export async function* decryptWhatsAppMedia(
  source: AsyncIterable<Uint8Array>,
  keys: WhatsAppMediaKeys,
): AsyncGenerator<Uint8Array> {
  const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  const hmac = createHmac('sha256', keys.macKey).update(keys.iv);
  let held: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    const all = held.length > 0 ? Buffer.concat([held, chunk]) : Buffer.from(chunk);
    const cut = all.length - MAC_LENGTH;
    if (cut <= 0) {
      held = all;
      continue;
    }
    const body = all.subarray(0, cut);
    held = Buffer.from(all.subarray(cut));
    hmac.update(body);
    const plain = decipher.update(body);
    if (plain.length > 0) yield plain;
  }
  const expected = hmac.digest().subarray(0, MAC_LENGTH);
  if (held.length !== MAC_LENGTH || !timingSafeEqual(expected, held)) {
    throw new MediaError('download-failed', 'WhatsApp media failed its MAC check (tampered or truncated)', {
      details: { whatsapp: 'mac_mismatch' },
    });
  }
  let last: Buffer;
  try {
    last = decipher.final();
  } catch (error) {
    throw new MediaError('download-failed', 'WhatsApp media could not be decrypted', {
      cause: error,
      details: { whatsapp: 'decrypt_failed' },
    });
  }
  if (last.length > 0) yield last;
}
