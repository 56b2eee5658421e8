/**
 * Stateless seeded randomness: the same (seed, parts…) always gives the same number, so any
 * message of a channel can be derived on its own without generating the ones before it.
 */
export function hash32(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    let k = Math.imul(part | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
    const hi = Math.floor(part / 0x100000000);
    if (hi !== 0) h = (h ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A float in [0, 1) derived from the seed and parts. */
export function unit(seed: number, ...parts: number[]): number {
  return hash32(seed, ...parts) / 0x100000000;
}

/** An integer in [min, max] derived from the seed and parts. */
export function intBetween(min: number, max: number, seed: number, ...parts: number[]): number {
  return min + (hash32(seed, ...parts) % (max - min + 1));
}
