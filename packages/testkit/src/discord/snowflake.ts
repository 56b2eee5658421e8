/** Discord's epoch (2015-01-01T00:00:00Z) in ms. */
export const DISCORD_EPOCH_MS = 1420070400000;

/** Builds a snowflake from a UTC ms timestamp and 22 low bits (worker, process, increment). */
export function snowflakeFromParts(timestampMs: number, low: number): string {
  const ms = BigInt(Math.max(0, Math.floor(timestampMs) - DISCORD_EPOCH_MS));
  return ((ms << 22n) | BigInt(low & 0x3fffff)).toString();
}

/** The UTC ms timestamp encoded in a snowflake. */
export function snowflakeToMs(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;
}

/** Compares two snowflakes numerically. */
export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
