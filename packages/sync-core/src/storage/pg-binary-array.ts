/** Element types {@link PgBinaryArray} can encode (their Postgres type oids). */
export const PG_ARRAY_ELEMENT = {
  bool: 16,
  text: 25,
  timestamptz: 1184,
  jsonb: 3802,
} as const;

/** Oid of an element type of {@link PG_ARRAY_ELEMENT}. */
export type PgArrayElement = (typeof PG_ARRAY_ELEMENT)[keyof typeof PG_ARRAY_ELEMENT];

const HEADER_BYTES = 20;
/** 2000-01-01T00:00:00Z, Postgres' timestamp epoch, in Unix ms. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
const JSONB_VERSION = 1;

/**
 * A one-dimensional Postgres array in the binary wire format (`array_recv`), built element by
 * element. A `Buffer` query parameter is sent in binary format by `pg` (and PGlite), so the server
 * reads each element by its length instead of parsing text: a batch's columns travel as one such
 * array each and are zipped back into rows with `unnest($1::text[], $2::timestamptz[], …)`.
 *
 * Strings are written as UTF-8 without NUL characters (Postgres text cannot hold them) and with
 * lone surrogates replaced by U+FFFD, as `cleanText` does.
 *
 * @example
 * ```ts
 * const ids = new PgBinaryArray(PG_ARRAY_ELEMENT.text, messages.length);
 * for (const m of messages) ids.text(m.externalId);
 * await sql`select * from unnest(${ids.finish()}::text[])`.execute(db);
 * ```
 */
export class PgBinaryArray {
  #buf: Buffer;
  #view: DataView;
  #off = HEADER_BYTES;
  #hasNull = 0;
  #count = 0;
  readonly #oid: PgArrayElement;

  /** `sizeHint`: expected bytes of all elements (grown on demand). */
  constructor(oid: PgArrayElement, sizeHint = 1024) {
    this.#oid = oid;
    this.#buf = Buffer.allocUnsafe(HEADER_BYTES + sizeHint);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  #ensure(bytes: number): void {
    if (this.#off + bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#off + bytes));
    this.#buf.copy(grown, 0, 0, this.#off);
    this.#buf = grown;
    this.#view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** A NULL element. */
  null(): void {
    this.#ensure(4);
    this.#view.setInt32(this.#off, -1);
    this.#off += 4;
    this.#hasNull = 1;
    this.#count += 1;
  }

  /** A `text` element (`null` → NULL). */
  text(value: string | null | undefined): void {
    if (value === null || value === undefined) {
      this.null();
      return;
    }
    this.#string(typeof value === 'string' ? value : String(value), false);
  }

  /** A `jsonb` element from JSON text (`null` → NULL). */
  jsonText(json: string | null): void {
    if (json === null) {
      this.null();
      return;
    }
    this.#string(json, true);
  }

  #string(value: string, jsonb: boolean): void {
    const text = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
    const prefix = jsonb ? 1 : 0;
    this.#ensure(4 + prefix + text.length * 3);
    const start = this.#off + 4;
    if (jsonb) this.#buf[start] = JSONB_VERSION;
    const written = this.#buf.write(text, start + prefix, 'utf8');
    this.#view.setInt32(this.#off, written + prefix);
    this.#off = start + prefix + written;
    this.#count += 1;
  }

  /** A `timestamptz` element from UTC ms (`null` or a non-finite number → NULL). */
  timestamp(ms: number | null | undefined): void {
    if (ms === null || ms === undefined || !Number.isFinite(ms)) {
      this.null();
      return;
    }
    this.#ensure(12);
    this.#view.setInt32(this.#off, 8);
    const us = Math.round((ms - PG_EPOCH_MS) * 1000);
    if (Number.isSafeInteger(us)) {
      const hi = Math.floor(us / TWO_32);
      this.#view.setInt32(this.#off + 4, hi);
      this.#view.setUint32(this.#off + 8, us - hi * TWO_32);
    } else {
      const exact = Number.isInteger(ms)
        ? (BigInt(ms) - BigInt(PG_EPOCH_MS)) * 1000n
        : BigInt(Math.round((ms - PG_EPOCH_MS) * 1000));
      this.#view.setBigInt64(this.#off + 4, BigInt.asIntN(64, exact));
    }
    this.#off += 12;
    this.#count += 1;
  }

  /** A `bool` element. */
  bool(value: boolean): void {
    this.#ensure(5);
    this.#view.setInt32(this.#off, 1);
    this.#buf[this.#off + 4] = value ? 1 : 0;
    this.#off += 5;
    this.#count += 1;
  }

  /** The array as a query parameter (binary format). The builder is not to be used after. */
  finish(): Buffer {
    const v = this.#view;
    if (this.#count === 0) {
      v.setInt32(0, 0);
      v.setInt32(4, 0);
      v.setInt32(8, this.#oid);
      return this.#buf.subarray(0, 12);
    }
    v.setInt32(0, 1);
    v.setInt32(4, this.#hasNull);
    v.setInt32(8, this.#oid);
    v.setInt32(12, this.#count);
    v.setInt32(16, 1);
    return this.#buf.subarray(0, this.#off);
  }
}
