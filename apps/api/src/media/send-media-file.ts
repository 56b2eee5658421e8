import { closeSync, constants, createReadStream, fstatSync, openSync, read } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors/api-error.ts';
import type { BufferPool } from './buffer-pool.ts';
import { type ByteRange, contentRange } from './byte-range.ts';
import { planMediaAnswer } from './media-answer.ts';

/** Chunk size of the stream used for bodies the pool does not buffer: 1 MiB (64 KiB chunks cost more per byte). */
export const MEDIA_STREAM_HIGH_WATER_MARK = 1024 * 1024;

/** `O_NONBLOCK` so that a FIFO planted in the media folder cannot hang the open; no effect on files. */
export const MEDIA_OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** An empty stream: Fastify's HEAD handling keeps the `Content-Length` set for a stream (not for no payload). */
const noBody = (): Readable => Readable.from([]);

const readAt = (fd: number, target: Buffer, offset: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => {
    read(fd, target, offset, target.length - offset, position, (error, bytesRead) =>
      error ? reject(error) : resolve(bytesRead),
    );
  });

async function readFully(fd: number, target: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < target.length) {
    const bytesRead = await readAt(fd, target, offset, position + offset);
    if (bytesRead === 0)
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the media file changed while it was being read');
    offset += bytesRead;
  }
}

/**
 * The body of `range` of the open file: read at once into a pooled buffer (given back when the
 * response closes) when the pool lends one, else a stream over the descriptor in
 * {@link MEDIA_STREAM_HIGH_WATER_MARK} chunks, which then owns the descriptor (closes it).
 * Reads before any header is set, so a failed read leaves an ordinary error response.
 */
async function readBody(
  reply: FastifyReply,
  fd: number,
  range: ByteRange,
  pool: BufferPool,
): Promise<Buffer | Readable> {
  const lent = pool.acquire(range.end - range.start + 1);
  if (!lent)
    return createReadStream('', {
      fd,
      start: range.start,
      end: range.end,
      highWaterMark: MEDIA_STREAM_HIGH_WATER_MARK,
    });
  try {
    await readFully(fd, lent.bytes, range.start);
  } catch (error) {
    lent.release();
    throw error;
  }
  reply.raw.once('close', lent.release);
  return lent.bytes;
}

/**
 * Answers a GET or HEAD for the regular file at `path` (already confined by the caller) as
 * {@link planMediaAnswer} decides: 200 or 206 with `Content-Range`, 304 for a fresh conditional
 * request, 412 for a failed `If-Match` / `If-Unmodified-Since`, 416 with
 * `Content-Range: bytes *\/size` for an unsatisfiable range, 404 when it is not a regular file.
 *
 * The file is opened once: its `fstat` gives the validators and the size of exactly the bytes
 * then read, even if the path is replaced meanwhile. Open, fstat and close are synchronous
 * (microseconds; an async call costs more CPU in the thread-pool round trip than the syscall);
 * the body read stays async, so a cold disk does not stall the event loop and the copy runs on
 * another core.
 */
export async function sendMediaFile(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  pool: BufferPool,
): Promise<FastifyReply> {
  let fd: number;
  try {
    fd = openSync(path, MEDIA_OPEN_FLAGS);
  } catch {
    throw ApiError.notFound('media file');
  }
  let ownedByStream = false;
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw ApiError.notFound('media file');
    const answer = planMediaAnswer(request.method, request.headers, path, info.size, info.mtime);
    if (answer.kind === 'precondition-failed') throw new ApiError(412, 'BAD_REQUEST', 'Precondition Failed');
    if (answer.kind === 'unsatisfiable') {
      throw new ApiError(416, 'RANGE_NOT_SATISFIABLE', 'Range Not Satisfiable', {
        headers: { 'content-range': contentRange(answer.size) },
      });
    }
    if (answer.kind === 'not-modified') return reply.code(304).headers(answer.headers).send(noBody());
    const body = answer.bodyless ? noBody() : await readBody(reply, fd, answer.range, pool);
    ownedByStream = !answer.bodyless && !Buffer.isBuffer(body);
    return reply.code(answer.status).headers(answer.headers).send(body);
  } finally {
    if (!ownedByStream) closeSync(fd);
  }
}
