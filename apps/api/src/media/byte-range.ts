/** An inclusive byte range of a representation: `end` is the last byte sent. */
export interface ByteRange {
  /** First byte, 0-based. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * What a `Range` header asks of a representation of `size` bytes:
 * - `full`: no usable single range (absent, another unit, or several disjoint ranges), send 200;
 * - `unsatisfiable`: bytes asked for but none inside the representation, send 416;
 * - `partial`: one range (overlapping or adjacent ranges are merged first), send 206.
 */
export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'unsatisfiable' }
  | { kind: 'partial'; range: ByteRange };

const BYTES_UNIT = /^ *bytes=/;
const FULL: RangeRequest = { kind: 'full' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };

/** Clamps one parsed spec (`NaN` where a number is missing) to `size`; null when it selects nothing. */
function clamp(first: number, last: number, size: number): ByteRange | null {
  let start = first;
  let end = last;
  if (Number.isNaN(start)) {
    start = size - end;
    end = size - 1;
  } else if (Number.isNaN(end) || end > size - 1) {
    end = size - 1;
  }
  return Number.isNaN(start) || Number.isNaN(end) || start < 0 || start > end ? null : { start, end };
}

/**
 * Reads a `Range` header against a representation of `size` bytes exactly as @fastify/send 4
 * (after `range-parser`) does, so clients see what they saw before: `bytes=a-b`, `bytes=a-`
 * (open-ended) and `bytes=-n` (suffix), a last byte past the end clamped, ranges that overlap
 * or touch merged, several disjoint ranges answered with the whole representation (no
 * `multipart/byteranges`), and numbers read leniently (`parseInt`, same scan of `-` and `,`).
 *
 * @example
 * ```ts
 * parseRange(1000, 'bytes=-5'); // { kind: 'partial', range: { start: 995, end: 999 } }
 * parseRange(1000, 'bytes=2000-'); // { kind: 'unsatisfiable' }
 * ```
 */
export function parseRange(size: number, header: string | undefined): RangeRequest {
  if (header === undefined || !BYTES_UNIT.test(header)) return FULL;
  const values = header.slice(header.indexOf('=') + 1);
  const ranges: ByteRange[] = [];
  let comma = values.indexOf(',');
  let dash = values.indexOf('-');
  let previous = -1;
  for (;;) {
    if (comma === -1) comma = values.length;
    const range = clamp(
      Number.parseInt(values.slice(previous + 1, dash), 10),
      Number.parseInt(values.slice(dash + 1, comma), 10),
      size,
    );
    if (range) ranges.push(range);
    if (comma === values.length) break;
    previous = comma++;
    dash = values.indexOf('-', comma);
    comma = values.indexOf(',', comma);
  }
  if (ranges.length === 0) return UNSATISFIABLE;
  if (ranges.length === 1) return { kind: 'partial', range: ranges[0] as ByteRange };
  ranges.sort((a, b) => a.start - b.start);
  const merged = { ...(ranges[0] as ByteRange) };
  for (const range of ranges.slice(1)) {
    if (range.start > merged.end + 1) return FULL;
    merged.end = Math.max(merged.end, range.end);
  }
  return { kind: 'partial', range: merged };
}

/** `Content-Range` of a partial response (`bytes 0-99/1000`) or of a 416 (`bytes *\/1000`). */
export function contentRange(size: number, range?: ByteRange): string {
  return `bytes ${range ? `${range.start}-${range.end}` : '*'}/${size}`;
}
