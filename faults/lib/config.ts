/** How big the suite runs: `full` (the documented numbers) or `trim` (a few minutes, for CI). */
export type FaultsScale = 'full' | 'trim';

/** Sizes that the scale picks. */
export interface FaultsSizes {
  /** SIGKILLs of the kill-resume scenario (each on its own sync). */
  kills: number;
  /** Messages of the kill-resume dataset. */
  killMessages: number;
  /** Messages of the other sync scenarios' datasets. */
  syncMessages: number;
  /** Requests of the API fuzz (at least 5,000 at either scale). */
  fuzzRequests: number;
  /** Concurrent-request rounds of the one-job-per-instance scenario. */
  raceRounds: number;
  /** Messages of the media scenarios' dataset (about 40 % carry an attachment). */
  mediaMessages: number;
  /** Deepest `..` chain of the media traversal corpus. */
  traversalDepth: number;
  /** Messages per chat of the WhatsApp holder scenarios' phone (3 chats, the last 25 pushed). */
  whatsappPerChat: number;
}

/** Sizes per scale. */
export const SIZES = {
  full: {
    kills: 20,
    killMessages: 1500,
    syncMessages: 1200,
    fuzzRequests: 20_000,
    raceRounds: 4,
    traversalDepth: 5,
    mediaMessages: 300,
    whatsappPerChat: 400,
  },
  trim: {
    kills: 6,
    killMessages: 300,
    syncMessages: 400,
    fuzzRequests: 5_000,
    raceRounds: 1,
    traversalDepth: 2,
    mediaMessages: 150,
    whatsappPerChat: 150,
  },
} as const satisfies Record<FaultsScale, FaultsSizes>;

/** Everything a run is configured by. */
export interface FaultsConfig {
  scale: FaultsScale;
  sizes: FaultsSizes;
  /** Seed of every random choice (kill delays, fuzz inputs). */
  seed: number;
  /** Scenario names to run (all when empty). */
  only: string[];
  /** The shared NATS (streams with unique names; never restarted). */
  natsUrl: string;
  /** The shared Postgres used as admin connection by `createTestDb` (never restarted). */
  databaseUrl: string;
}

/**
 * Reads the configuration from flags (`--scale full|trim`, `--seed N`, `--only a,b`) and the
 * environment (`FAULTS_SCALE`, `FAULTS_SEED`, `FAULTS_ONLY`, `NATS_URL`, `DATABASE_URL`).
 */
export function loadFaultsConfig(
  argv: string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): FaultsConfig {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  const scaleText = flag('scale') ?? env.FAULTS_SCALE ?? 'full';
  if (scaleText !== 'full' && scaleText !== 'trim')
    throw new Error(`scale must be "full" or "trim", got "${scaleText}"`);
  const seedText = flag('seed') ?? env.FAULTS_SEED;
  const seed = seedText ? Number(seedText) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`seed must be a non-negative integer, got "${seedText}"`);
  const only = (flag('only') ?? env.FAULTS_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    scale: scaleText,
    sizes: SIZES[scaleText],
    seed,
    only,
    natsUrl: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  };
}
