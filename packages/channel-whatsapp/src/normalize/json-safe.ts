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

/** Bytes (Buffer, Uint8Array, or a JSON-revived `{type:'Buffer',data}`) as base64, else `null`. */
export function bytesToBase64(value: unknown): string | null {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
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
      break;
    default:
      return null;
  }
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (Array.isArray(value)) return value.map(toJsonSafe);
  if (value instanceof Date) return value.toISOString();
  if (isLong(value)) return value.toNumber();
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field === undefined || typeof field === 'function') continue;
    if (Array.isArray(field) && field.length === 0) continue;
    out[key] = toJsonSafe(field);
  }
  return out;
}
