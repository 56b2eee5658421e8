import type { JsonValue } from '@omni/sync-core';

interface LongLike {
  toNumber(): number;
}

function isLong(value: object): value is LongLike {
  return typeof (value as Partial<LongLike>).toNumber === 'function';
}

/**
 * Converts a protobuf `Long`, a number or a numeric string to a number; anything else to `null`.
 * Baileys hands out timestamps and sizes as `Long` (or, after JSON round trips, as strings).
 */
export function toNumberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') {
    if (value.trim() === '') return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  if (typeof value === 'object' && isLong(value)) return value.toNumber();
  return null;
}

/** `Uint8Array.prototype.toBase64` (ES2026, in Bun; `lib` stops at ES2023). */
interface ToBase64 {
  toBase64?: () => string;
}

/** Bytes as standard base64 (padded), natively where the runtime can. */
function base64Of(bytes: Uint8Array): string {
  const native = (bytes as ToBase64).toBase64;
  return typeof native === 'function'
    ? native.call(bytes)
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Bytes (Buffer, Uint8Array, or a JSON-revived `{type:'Buffer',data}`) as base64, else `null`. */
export function bytesToBase64(value: unknown): string | null {
  if (value instanceof Uint8Array) return base64Of(value);
  if (typeof value === 'string') return value;
  return null;
}

/** Bytes as lowercase hex, else `null`. */
export function bytesToHex(value: unknown): string | null {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (typeof value === 'string') return Buffer.from(value, 'base64').toString('hex');
  return null;
}

/**
 * A JSON-safe copy of a Baileys payload: bytes become base64 strings, `Long`s numbers, `Date`s ISO
 * strings; `undefined`, functions and empty lists are dropped (a decoded protobuf carries every
 * repeated field as an own empty array). Only own enumerable fields are read, so a decoded protobuf
 * keeps the fields that were on the wire.
 */
export function toJsonSafe(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number(value);
    case 'object':
      return objectToJsonSafe(value);
    default:
      return null;
  }
}

/**
 * {@link toJsonSafe} of a non-null object. It runs on every message of a history chunk (its `raw`),
 * so plain fields (most of a message) are copied inline rather than through a call each.
 */
function objectToJsonSafe(value: object): JsonValue {
  if (value instanceof Uint8Array) return base64Of(value);
  if (Array.isArray(value)) {
    const list: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) list[i] = toJsonSafe(value[i]);
    return list;
  }
  if (value instanceof Date) return value.toISOString();
  if (isLong(value)) return value.toNumber();
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    switch (typeof field) {
      case 'string':
      case 'boolean':
        out[key] = field;
        break;
      case 'number':
        out[key] = Number.isFinite(field) ? field : null;
        break;
      case 'object':
        if (field === null) out[key] = null;
        else if (!Array.isArray(field) || field.length > 0) out[key] = objectToJsonSafe(field);
        break;
      case 'bigint':
        out[key] = Number(field);
        break;
      case 'undefined':
      case 'function':
        break;
      default:
        out[key] = null;
    }
  }
  return out;
}
