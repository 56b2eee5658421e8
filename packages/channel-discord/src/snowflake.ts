/** Discord's epoch (2015-01-01T00:00:00Z), UTC ms. */
export const DISCORD_EPOCH_MS = 1420070400000;

/** UTC ms encoded in a snowflake: `(id >> 22) + 1420070400000`. */
export function snowflakeToMs(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;
}

/**
 * The smallest snowflake of a UTC ms instant: every message sent at or after `ms` has an id
 * ≥ it, every message sent before has a smaller one. Usable as `before` (exclusive) and as a
 * lower bound.
 */
export function snowflakeFromMs(ms: number): string {
  const rel = BigInt(Math.max(0, Math.floor(ms) - DISCORD_EPOCH_MS));
  return (rel << 22n).toString();
}

const SNOWFLAKE = /^[1-9]\d{0,19}$/;
const MAX_SNOWFLAKE = (1n << 64n) - 1n;

/** True for a Discord id: a decimal 64-bit unsigned integer, no sign, no leading zero. */
export function isSnowflake(id: unknown): id is string {
  return typeof id === 'string' && SNOWFLAKE.test(id) && BigInt(id) <= MAX_SNOWFLAKE;
}
