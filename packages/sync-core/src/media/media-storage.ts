import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Database, SettingsService } from '@omni/db';
import { toJson } from '@omni/db';
import { fileTypeFromFile } from 'file-type';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { MediaDescriptor } from '../contract/normalized-message.ts';
import { CancelledError } from '../errors/cancelled-error.ts';
import { MediaError } from '../errors/media-error.ts';
import { type MediaRefusal, MediaRefusedError } from '../errors/media-refused-error.ts';
import { chunksOf, hexSha, type MediaBytes } from './media-bytes.ts';
import { isMarkupMime, looksLikeMarkup, mimeListedExactly, storedExtension } from './media-type-policy.ts';
import { bareMime, mimeAllowed } from './mime-types.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** What to store: one message's media. */
export interface MediaStoreInput {
  instanceId: string;
  /** Internal uuid of the message row (`messages.id`): the file name. */
  messageId: string;
  /** When the message was sent, UTC ms: picks the `YYYY-MM` folder. */
  sentAt: number;
  /** The platform's description (declared mime, size, sha256, base64, metadata). */
  descriptor: MediaDescriptor;
  /** The bytes, when not carried as `descriptor.base64`. */
  bytes?: MediaBytes;
}

/**
 * Why media was skipped on purpose (counted in `mediaSkipReasons`, not a failure): storage itself
 * skips for `size` (over `media.maxFileSizeMb`) and `type` (not allowed, or markup); the fetcher's
 * refusals (`scheme`, `host`, `address`, `redirect`, `timeout`) are recorded the same way.
 */
export type MediaSkipReason = MediaRefusal;

/** Outcome of {@link MediaStorageService.store}. */
export type MediaStoreOutcome =
  | {
      status: 'stored';
      /** Path under the base path, as saved in `messages.media_local_path`. */
      relativePath: string;
      absolutePath: string;
      sha256: string;
      size: number;
      mimeType: string;
      /** Identical content was already stored for the instance: the row points to that file. */
      deduplicated: boolean;
    }
  | { status: 'skipped'; reason: MediaSkipReason; mimeType: string | null; size: number | null };

/** Options of {@link MediaStorageService}. */
export interface MediaStorageOptions {
  /** Settings read on every store (`media.storagePath`, `media.maxFileSizeMb`, `media.allowedMimeTypes`). */
  settings?: Pick<SettingsService, 'get'> | null;
  /** Base folder; overrides `media.storagePath`. */
  basePath?: string | null;
  /** Size cap in bytes; overrides `media.maxFileSizeMb`. */
  maxFileSizeBytes?: number | null;
  /** Allowed types (wildcards); overrides `media.allowedMimeTypes`. */
  allowedMimeTypes?: readonly string[] | null;
  /**
   * fsync each file before renaming it into place (durable across power loss, slower).
   * @defaultValue true
   */
  fsync?: boolean;
}

/** Defaults of {@link MediaStorageOptions}: values come from settings, else the seed's defaults. */
export const DEFAULT_MEDIA_STORAGE_OPTIONS = {
  settings: null,
  basePath: null,
  maxFileSizeBytes: null,
  allowedMimeTypes: null,
  fsync: true,
} satisfies Required<MediaStorageOptions>;

const FALLBACK = {
  basePath: './data/media',
  maxFileSizeMb: 100,
  allowedMimeTypes: ['image/*', 'audio/*', 'video/*', 'application/pdf'],
};

interface Limits {
  basePath: string;
  maxBytes: number;
  allowed: readonly string[];
}

/** Bytes kept from the start of a file to tell markup from other content. */
const HEAD_BYTES = 512;

/** Wraps an error of writing the temp file, to tell it apart from errors reading the source. */
class DiskWriteFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('writing the media file failed', { cause });
  }
}

class TooLarge extends Error {}

/**
 * Stores media files at `{basePath}/{instanceId}/{YYYY-MM}/{messageId}.{ext}` (UTC month of the
 * message, extension from the type sniffed from the bytes, else `bin`: the extension decides how
 * the file is served, so only confirmed types get theirs). SVG, HTML and XML — declared, sniffed,
 * or bytes that open with `<` — are skipped as `type` unless `media.allowedMimeTypes` names the
 * type exactly (a wildcard such as `image/*` does not admit them). Bytes stream into a
 * temporary file in the same folder that is renamed into place, so no half file ever sits at the
 * final path. The size cap is enforced while streaming; the type filter on the sniffed type.
 * Base64 payloads are decoded and cleared from the row. Identical content (same SHA-256 within an
 * instance) is stored once, also across processes (a Postgres advisory lock per instance and
 * content): later rows point to the first file.
 *
 * @example
 * ```ts
 * const media = new MediaStorageService(db, { settings });
 * const r = await media.store({ instanceId, messageId, sentAt, descriptor, bytes: stream });
 * ```
 */
export class MediaStorageService {
  readonly #db: Kysely<Database>;
  readonly #options: Required<MediaStorageOptions>;

  constructor(db: Kysely<Database>, options: MediaStorageOptions = {}) {
    this.#db = db;
    this.#options = { ...DEFAULT_MEDIA_STORAGE_OPTIONS, ...options };
  }

  /** The absolute base folder currently in effect. */
  async basePath(): Promise<string> {
    return (await this.#limits()).basePath;
  }

  /** The final path of a message's media, relative to the base path (`{instanceId}/{YYYY-MM}/{messageId}.{ext}`). */
  static relativePath(instanceId: string, sentAt: number, messageId: string, ext: string): string {
    const d = new Date(sentAt);
    const month = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    return join(instanceId, month, `${messageId}.${ext}`);
  }

  /**
   * Deletes temporary `.part` files older than `olderThanMs` left by processes killed mid-write
   * (they never sit at a final path, but take space). Returns how many were removed.
   */
  async removeStaleTempFiles(olderThanMs = 3_600_000): Promise<number> {
    const { basePath } = await this.#limits();
    const entries = await readdir(basePath, { recursive: true, withFileTypes: true }).catch(() => []);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.startsWith('.') || !entry.name.endsWith('.part')) continue;
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path).catch(() => null);
      if (info && info.mtimeMs < cutoff) {
        await rm(path, { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /**
   * Stores one message's media and records it on the row (`media_local_path`, `media_sha256`,
   * `media_mime_type`, `media_metadata`). Oversize or disallowed media is skipped (and noted in
   * the row); integrity and I/O problems throw `MediaError`.
   */
  async store(input: MediaStoreInput): Promise<MediaStoreOutcome> {
    const limits = await this.#limits();
    const { descriptor } = input;
    const declaredMime = bareMime(descriptor.mimeType);
    if (descriptor.size !== undefined && descriptor.size > limits.maxBytes) {
      return this.#skip(input, 'size', declaredMime, descriptor.size);
    }
    if (declaredMime && !mimeAllowed(declaredMime, limits.allowed)) {
      return this.#skip(input, 'type', declaredMime, descriptor.size ?? null);
    }
    if (isMarkupMime(declaredMime) && !mimeListedExactly(declaredMime, limits.allowed)) {
      return this.#skip(input, 'type', declaredMime, descriptor.size ?? null);
    }
    let bytes = input.bytes;
    if (!bytes && descriptor.base64) {
      if (Math.floor((descriptor.base64.length * 3) / 4) > limits.maxBytes + 3) {
        return this.#skip(input, 'size', declaredMime, null);
      }
      bytes = Buffer.from(descriptor.base64, 'base64');
    }
    if (!bytes) throw new MediaError('no-source', `no bytes for media of message ${input.messageId}`);

    const dir = join(limits.basePath, input.instanceId, MediaStorageService.#month(input.sentAt));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${input.messageId}.${randomBytes(6).toString('hex')}.part`);
    try {
      const written = await this.#writeTemp(temp, bytes, limits.maxBytes);
      if (written === 'too-large') return this.#skip(input, 'size', declaredMime, null);
      const sniffed = await fileTypeFromFile(temp).catch(() => undefined);
      const mimeType = sniffed?.mime ?? declaredMime ?? 'application/octet-stream';
      if (!mimeAllowed(mimeType, limits.allowed)) {
        return this.#skip(input, 'type', mimeType, written.size);
      }
      const markup = isMarkupMime(mimeType) || (!sniffed && looksLikeMarkup(written.head));
      if (markup && !mimeListedExactly(mimeType, limits.allowed)) {
        return this.#skip(input, 'type', mimeType, written.size);
      }
      const expected = hexSha(descriptor.sha256);
      if (expected && expected !== written.sha256) {
        throw new MediaError(
          'sha256-mismatch',
          `media of message ${input.messageId} does not match its sha256`,
          {
            retryable: true,
            details: { expected, actual: written.sha256 },
          },
        );
      }
      const ext = storedExtension(sniffed);
      return await this.#withContentLock(input.instanceId, written.sha256, async (trx) => {
        const existing = await this.#findSameContent(
          trx,
          input.instanceId,
          written.sha256,
          input.messageId,
          limits,
        );
        const relativePath =
          existing ?? MediaStorageService.relativePath(input.instanceId, input.sentAt, input.messageId, ext);
        const absolutePath = join(limits.basePath, relativePath);
        if (!existing) await rename(temp, absolutePath);
        await this.#record(trx, input, {
          media_local_path: relativePath,
          media_sha256: written.sha256,
          media_mime_type: mimeType,
          patch: {
            mimeType,
            declaredMimeType: declaredMime,
            size: written.size,
            sha256: written.sha256,
            storedAt: new Date().toISOString(),
            ...(existing ? { deduplicatedFrom: existing } : {}),
          },
        });
        return {
          status: 'stored' as const,
          relativePath,
          absolutePath,
          sha256: written.sha256,
          size: written.size,
          mimeType,
          deduplicated: existing !== null,
        };
      });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async #writeTemp(
    temp: string,
    bytes: MediaBytes,
    maxBytes: number,
  ): Promise<{ size: number; sha256: string; head: Uint8Array } | 'too-large'> {
    const hash = createHash('sha256');
    let size = 0;
    const head = new Uint8Array(HEAD_BYTES);
    let headLength = 0;
    const file = await open(temp, 'wx', 0o600);
    try {
      try {
        for await (const chunk of chunksOf(bytes)) {
          size += chunk.byteLength;
          if (size > maxBytes) throw new TooLarge();
          hash.update(chunk);
          if (headLength < HEAD_BYTES) {
            const part = chunk.subarray(0, HEAD_BYTES - headLength);
            head.set(part, headLength);
            headLength += part.byteLength;
          }
          await file.write(chunk).catch((error: unknown) => {
            throw new DiskWriteFailed(error);
          });
        }
      } catch (error) {
        if (error instanceof TooLarge) return 'too-large';
        if (error instanceof MediaError || error instanceof MediaRefusedError) throw error;
        if (error instanceof CancelledError) throw error;
        // A failed write (ENOSPC, EIO…) is the disk's fault, not the download's: its errno is the
        // reason the queue reports, and it is not retried.
        if (error instanceof DiskWriteFailed) throw error.cause;
        throw new MediaError('download-failed', 'reading media bytes failed', {
          cause: error,
          retryable: true,
        });
      }
      if (this.#options.fsync) await file.sync();
    } finally {
      await file.close();
    }
    return { size, sha256: hash.digest('hex'), head: head.subarray(0, headLength) };
  }

  async #findSameContent(
    db: Db,
    instanceId: string,
    sha256: string,
    messageId: string,
    limits: Limits,
  ): Promise<string | null> {
    const rows = await db
      .selectFrom('messages')
      .select('media_local_path')
      .where('instance_id', '=', instanceId)
      .where('media_sha256', '=', sha256)
      .where('media_local_path', 'is not', null)
      .where('id', '!=', messageId)
      .limit(5)
      .execute();
    for (const row of rows) {
      const path = row.media_local_path;
      if (!path) continue;
      const file = await stat(join(limits.basePath, path)).catch(() => null);
      if (file?.isFile()) return path;
    }
    return null;
  }

  async #record(
    db: Db,
    input: MediaStoreInput,
    values: {
      media_local_path: string | null;
      media_sha256: string | null;
      media_mime_type: string | null;
      patch: Record<string, unknown>;
    },
  ): Promise<void> {
    const d = input.descriptor;
    const metadata = {
      width: d.width,
      height: d.height,
      durationSeconds: d.durationSeconds,
      waveform: d.waveform,
      isVoiceNote: d.isVoiceNote,
      filename: d.filename,
      caption: d.caption,
      url: d.url,
      ...values.patch,
    };
    const result = await db
      .updateTable('messages')
      .set({
        ...(values.media_local_path ? { media_local_path: values.media_local_path } : {}),
        ...(values.media_sha256 ? { media_sha256: values.media_sha256 } : {}),
        ...(values.media_mime_type ? { media_mime_type: values.media_mime_type } : {}),
        media_metadata: sql<string>`(coalesce(media_metadata, '{}'::jsonb) - 'base64') || ${toJson(metadata)}::jsonb`,
      })
      .where('id', '=', input.messageId)
      .where('instance_id', '=', input.instanceId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) {
      throw new MediaError('message-not-found', `message ${input.messageId} not found`);
    }
  }

  /**
   * Records that a message's media was refused (by the fetcher: scheme, host, address, redirect,
   * timeout, size): the row says `skipped: reason`, so later runs do not try it again.
   */
  async recordRefusal(input: MediaStoreInput, reason: MediaSkipReason): Promise<void> {
    await this.#skip(input, reason, bareMime(input.descriptor.mimeType), null);
  }

  async #skip(
    input: MediaStoreInput,
    reason: MediaSkipReason,
    mimeType: string | null,
    size: number | null,
  ): Promise<MediaStoreOutcome> {
    await this.#record(this.#db, input, {
      media_local_path: null,
      media_sha256: null,
      media_mime_type: null,
      patch: {
        skipped: reason,
        ...(mimeType ? { detectedMimeType: mimeType } : {}),
        ...(size ? { size } : {}),
      },
    });
    return { status: 'skipped', reason, mimeType, size };
  }

  /**
   * Runs `fn` in a transaction holding a Postgres advisory lock on (instance, sha256), so that
   * across every process sharing the database one store of a given content at a time looks for an
   * earlier copy, moves its file into place and records it: the second finds the first's committed
   * row and points to its file (content stored once per instance, fleet-wide).
   */
  async #withContentLock<T>(
    instanceId: string,
    sha256: string,
    fn: (trx: Transaction<Database>) => Promise<T>,
  ): Promise<T> {
    return this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${instanceId}), hashtext(${sha256}))`.execute(trx);
      return fn(trx);
    });
  }

  async #limits(): Promise<Limits> {
    const o = this.#options;
    const s = o.settings;
    const basePath = o.basePath ?? (s ? await s.get('media.storagePath') : FALLBACK.basePath);
    const maxMb = s ? await s.get('media.maxFileSizeMb') : FALLBACK.maxFileSizeMb;
    const allowed =
      o.allowedMimeTypes ?? (s ? await s.get('media.allowedMimeTypes') : FALLBACK.allowedMimeTypes);
    return {
      basePath: isAbsolute(basePath) ? basePath : resolve(basePath),
      maxBytes: o.maxFileSizeBytes ?? Math.floor(maxMb * 1024 * 1024),
      allowed,
    };
  }

  static #month(sentAt: number): string {
    const d = new Date(sentAt);
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  }
}
