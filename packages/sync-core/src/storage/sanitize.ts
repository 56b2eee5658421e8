/** ES2024 string methods (present in Bun; `lib` stops at ES2023). */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
const BAD_JSON_ESCAPE = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/** Text Postgres accepts: no NUL characters, no lone surrogates. */
export function cleanText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const text = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  const wf = text as unknown as WellFormedString;
  return wf.isWellFormed() ? text : wf.toWellFormed();
}

/**
 * JSON text Postgres' jsonb accepts: strings without `\u0000` and lone surrogates (which jsonb
 * rejects). The fast path is a plain `JSON.stringify`; only suspicious output is re-encoded.
 */
export function cleanJson(value: unknown): string {
  const text = JSON.stringify(value ?? null);
  if (!BAD_JSON_ESCAPE.test(text)) return text;
  return JSON.stringify(value ?? null, (_key, v: unknown) => (typeof v === 'string' ? cleanText(v) : v));
}
