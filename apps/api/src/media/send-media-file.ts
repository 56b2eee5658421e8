import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors/api-error.ts';
import type { BufferPool } from './buffer-pool.ts';
import { type ByteRange, contentRange, parseRange, type RangeRequest } from './byte-range.ts';
import { contentTypeFor } from './content-type.ts';
import { evaluatePreconditions, fileValidators, rangeStillValid } from './http-validators.ts';

/** Chunk size of the stream used for bodies the pool does not buffer: 1 MiB (64 KiB chunks cost more per byte). */
export const MEDIA_STREAM_HIGH_WATER_MARK = 1024 * 1024;

/** Cache-Control of every media response (what @fastify/static sent: revalidate each time). */
const CACHE_CONTROL = 'public, max-age=0';
/** `O_NONBLOCK` so that a FIFO planted in the media folder cannot hang the open; no effect on files. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
const WHOLE: RangeRequest = { kind: 'full' };

/** An empty stream: Fastify's HEAD handling keeps the `Content-Length` set for a stream (not for no payload). */
const noBody = (): Readable => Readable.from([]);

async function readFully(handle: FileHandle, target: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < target.length) {
    const { bytesRead } = await handle.read(target, offset, target.length - offset, position + offset);
    if (bytesRead === 0)
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the media file changed while it was being read');
    offset += bytesRead;
  }
}

/**
 * The body of `range` of the open file, handed to `reply`: read at once into a pooled buffer
 * (released when the response closes) when the pool lends one, else streamed from the handle
 * in {@link MEDIA_STREAM_HIGH_WATER_MARK} chunks. Returns true when the handle now belongs to the
 * stream (it closes it).
 */
async function sendBody(
  reply: FastifyReply,
  handle: FileHandle,
  range: ByteRange,
  pool: BufferPool,
): Promise<boolean> {
  const length = range.end - range.start + 1;
  const lent = pool.acquire(length);
  if (lent) {
    try {
      await readFully(handle, lent.bytes, range.start);
    } catch (error) {
      lent.release();
      throw error;
    }
    reply.raw.once('close', lent.release);
    reply.send(lent.bytes);
    return false;
  }
  reply.send(
    handle.createReadStream({
      start: range.start,
      end: range.end,
      highWaterMark: MEDIA_STREAM_HIGH_WATER_MARK,
    }),
  );
  return true;
}

/**
 * Answers a GET or HEAD for the regular file at `path` (already confined by the caller): 200 or
 * 206 with `Content-Range`, 304 for a fresh conditional request, 412 for a failed `If-Match` /
 * `If-Unmodified-Since`, 416 with `Content-Range: bytes *\/size` for an unsatisfiable range,
 * 404 when it is not a regular file. Headers as @fastify/static sent them: `Accept-Ranges`,
 * `Cache-Control`, `Last-Modified`, weak `ETag`, `Content-Type` from the extension.
 *
 * The file is opened once: its `fstat` gives the validators and the size of exactly the bytes
 * then read, even if the path is replaced meanwhile.
 */
export async function sendMediaFile(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  pool: BufferPool,
): Promise<FastifyReply> {
  const handle = await open(path, OPEN_FLAGS).catch(() => null);
  if (!handle) throw ApiError.notFound('media file');
  let handedOff = false;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw ApiError.notFound('media file');
    const validators = fileValidators(info.size, info.mtime);
    const outcome = evaluatePreconditions(request.headers, validators);
    if (outcome === 'precondition-failed') throw new ApiError(412, 'BAD_REQUEST', 'Precondition Failed');
    const asked =
      outcome === 'proceed' && rangeStillValid(request.headers, validators)
        ? parseRange(info.size, request.headers.range)
        : WHOLE;
    if (asked.kind === 'unsatisfiable') {
      throw new ApiError(416, 'RANGE_NOT_SATISFIABLE', 'Range Not Satisfiable', {
        headers: { 'content-range': contentRange(info.size) },
      });
    }
    reply
      .header('accept-ranges', 'bytes')
      .header('cache-control', CACHE_CONTROL)
      .header('last-modified', validators.lastModified)
      .header('etag', validators.etag);
    if (outcome === 'not-modified') return reply.code(304).send(noBody());
    const range = asked.kind === 'partial' ? asked.range : { start: 0, end: info.size - 1 };
    if (asked.kind === 'partial') reply.code(206).header('content-range', contentRange(info.size, range));
    reply.header('content-type', contentTypeFor(path)).header('content-length', range.end - range.start + 1);
    if (request.method === 'HEAD' || range.end < range.start) return reply.send(noBody());
    handedOff = await sendBody(reply, handle, range, pool);
    return reply;
  } finally {
    if (!handedOff) await handle.close();
  }
}
