/** Bytes of a media file: in memory, a web stream, or any async iterable of chunks. */
export type MediaBytes = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** A SHA-256 given as hex or base64 (WhatsApp's `fileSha256`), as lower-case hex; `null` when malformed. */
export function hexSha(value: string | undefined): string | null {
  if (!value) return null;
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase();
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : null;
}

/** The chunks of any {@link MediaBytes}; breaking out of the loop cancels a stream. */
export async function* chunksOf(bytes: MediaBytes): AsyncGenerator<Uint8Array> {
  if (bytes instanceof Uint8Array) {
    yield bytes;
    return;
  }
  if (bytes instanceof ReadableStream) {
    const reader = bytes.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  yield* bytes as AsyncIterable<Uint8Array>;
}
