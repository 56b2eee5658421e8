import { readFile, rm } from 'node:fs/promises';
import { encryptedStream, type MediaType } from '@whiskeysockets/baileys';

/** A file encrypted like WhatsApp media and published on the fake media server. */
export interface PublishedMedia {
  url: string;
  mediaKey: Uint8Array;
  fileSha256: Uint8Array;
  fileEncSha256: Uint8Array;
  fileLength: number;
  mimetype: string;
}

interface Entry {
  bytes: Uint8Array;
  status: number;
  reuploadable: boolean;
}

/**
 * A local HTTP server standing in for WhatsApp's media CDN. Files are encrypted with Baileys' own
 * `encryptedStream`, so a download really decrypts and checks the MAC (the plugin's own decryptor,
 * or Baileys' `downloadMediaMessage`). Messages must carry `url` (not `directPath`, which resolves
 * against mmg.whatsapp.net). The plugin fetches through the engine's media fetcher, which reaches
 * this server only when its {@link FakeMediaServer.origin} is allowed (`MEDIA_ALLOW_ORIGINS`).
 */
export class FakeMediaServer {
  readonly #entries = new Map<string, Entry>();
  readonly #server: ReturnType<typeof Bun.serve>;
  #next = 0;
  /** Number of GET requests served, by status. */
  readonly hits = new Map<number, number>();

  constructor() {
    this.#server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request) => {
        const path = new URL(request.url).pathname;
        const entry = this.#entries.get(path);
        const status = entry?.status ?? 404;
        this.hits.set(status, (this.hits.get(status) ?? 0) + 1);
        if (!entry || status !== 200) return new Response('gone', { status });
        return new Response(entry.bytes, { headers: { 'content-type': 'application/octet-stream' } });
      },
    });
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get origin(): string {
    return `http://127.0.0.1:${this.#server.port}`;
  }

  /** Encrypts `plain` for `mediaType` (image, video, audio, document, sticker) and serves it. */
  async publish(plain: Uint8Array, mediaType: MediaType, mimetype: string): Promise<PublishedMedia> {
    const enc = await encryptedStream(Buffer.from(plain), mediaType);
    const bytes = new Uint8Array(await readFile(enc.encFilePath));
    await rm(enc.encFilePath, { force: true });
    const path = this.#path();
    this.#entries.set(path, { bytes, status: 200, reuploadable: true });
    return {
      url: `${this.origin}${path}`,
      mediaKey: new Uint8Array(enc.mediaKey),
      fileSha256: new Uint8Array(enc.fileSha256),
      fileEncSha256: new Uint8Array(enc.fileEncSha256),
      fileLength: enc.fileLength,
      mimetype,
    };
  }

  /** Makes a published URL answer `status` (404 or 410: expired). `reuploadable: false` = the phone lost it too. */
  expire(url: string, status = 410, options: { reuploadable?: boolean } = {}): void {
    const entry = this.#entries.get(new URL(url).pathname);
    if (!entry) throw new Error(`not a published url: ${url}`);
    entry.status = status;
    entry.reuploadable = options.reuploadable ?? true;
  }

  /** Replaces the bytes behind a URL (to simulate a corrupted/tampered file). */
  replaceBytes(url: string, bytes: Uint8Array): void {
    const entry = this.#entries.get(new URL(url).pathname);
    if (!entry) throw new Error(`not a published url: ${url}`);
    entry.bytes = bytes;
  }

  /** Serves an expired file again under a new URL (what the phone's re-upload does); `null` when lost. */
  reupload(url: string): string | null {
    const entry = this.#entries.get(new URL(url).pathname);
    if (!entry?.reuploadable) return null;
    const path = this.#path();
    this.#entries.set(path, { bytes: entry.bytes, status: 200, reuploadable: true });
    return `${this.origin}${path}`;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.stop(true);
  }

  #path(): string {
    this.#next++;
    return `/v/t62/${this.#next.toString(36)}-${crypto.randomUUID()}.enc`;
  }
}
