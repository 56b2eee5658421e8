import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { CredentialCipher } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  type BudgetGrant,
  type BudgetKey,
  type BudgetRule,
  type BudgetWait,
  ExponentialCooldownPolicy,
  fixedRateSource,
  JobRepository,
  type PauseRequest,
  type PauseState,
  PluginRegistry,
  PostgresBudgetStore,
  type RateBudget,
  RateLimiter,
  readProgress,
  SharedRateBudget,
  SyncRunner,
  type TakeOptions,
  tokenIdentity,
} from '@omni/sync-core';
import { FakeDiscord } from '@omni/testkit/discord';
import { createDiscordPlugin, type DiscordPluginOptions } from '../src/index.ts';

/** Paced against the fake and Postgres: room for a loaded machine; nothing here asserts time. */
setDefaultTimeout(120_000);

/** Discord's shapes scaled down 10× (5 per 500 ms per channel), the global limit made binding. */
const WINDOW = { limit: 5, windowMs: 500 };
const GLOBAL = { limit: 5, windowMs: 100 };
const PACING: Partial<DiscordPluginOptions> = {
  historyRequestsPerWindow: WINDOW.limit,
  historyWindowMs: WINDOW.windowMs,
  globalRequestsPerWindow: GLOBAL.limit,
  globalWindowMs: GLOBAL.windowMs,
  cloudflareProbeMs: 100,
  cloudflareProbeMaxMs: 10_000,
};
const CHAT_CONCURRENCY = 3;

let t: TestDb;
let cipher: CredentialCipher;
let jobs: JobRepository;

beforeAll(async () => {
  t = await createTestDb('postgres');
  cipher = new CredentialCipher(randomBytes(32));
  jobs = new JobRepository(t.db);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

/** The real shared budget, with every wait it imposes written down. */
class ObservedBudget implements RateBudget {
  readonly waits: BudgetWait[] = [];
  readonly #inner = new SharedRateBudget(new PostgresBudgetStore(t.db));

  take(key: BudgetKey, rule: BudgetRule | null, options: TakeOptions = {}): Promise<BudgetGrant> {
    return this.#inner.take(key, rule, {
      ...options,
      onWait: (wait) => {
        this.waits.push(wait);
        options.onWait?.(wait);
      },
    });
  }

  pause(identity: string, request: PauseRequest): Promise<PauseState> {
    return this.#inner.pause(identity, request);
  }

  pauseOf(identity: string): Promise<PauseState | null> {
    return this.#inner.pauseOf(identity);
  }
}

/**
 * One worker process as production builds it: its own plugin (own discord.js client), its own
 * limiter and runner; the only thing shared with the other "process" is the database.
 */
function worker(fake: FakeDiscord): { runner: SyncRunner; limiter: RateLimiter; budget: ObservedBudget } {
  const budget = new ObservedBudget();
  const limiter = new RateLimiter({
    rates: fixedRateSource({ messages: 60_000, contacts: 60_000, profile: 60_000 }),
    budget,
    cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
  });
  const runner = new SyncRunner({
    db: t.db,
    plugins: new PluginRegistry([createDiscordPlugin({ api: fake.apiUrl, ...PACING })]),
    limiter,
    cipher,
    chatConcurrency: CHAT_CONCURRENCY,
    retryBaseMs: 50,
  });
  return { runner, limiter, budget };
}

async function newInstance(token: string): Promise<string> {
  const id = randomUUID();
  const row = await t.db
    .insertInto('instances')
    .values({
      id,
      name: `discord-${randomUUID()}`,
      channel: 'discord',
      credentials: cipher.encryptJson({ token }, id),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function startFake(): Promise<FakeDiscord> {
  return FakeDiscord.start({
    data: {
      seed: 7,
      nowMs: Date.now() - 1000,
      guilds: [
        {
          name: 'shared',
          channels: Array.from({ length: 4 }, (_, i) => ({
            name: `c${i}`,
            messageCount: 1200,
            historyDays: 60,
          })),
        },
      ],
    },
    token: `shared-${randomUUID()}`,
    messageRateLimit: WINDOW,
    globalRateLimit: GLOBAL,
  });
}

async function storedCount(instance: string): Promise<number> {
  const row = await t.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('instance_id', '=', instance)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Runs one `messages` job (depth all) per (worker, instance) at the same time. */
async function syncTogether(pairs: { runner: SyncRunner; instance: string }[]): Promise<void> {
  const created = await Promise.all(
    pairs.map(async (p) => (await jobs.createJob(p.instance, 'messages', { depth: 'all' })).job),
  );
  const results = await Promise.all(pairs.map((p, i) => p.runner.runJob(created[i]!.id, `worker-${i}`)));
  for (const r of results) {
    expect({ status: r?.status, error: r?.error }).toEqual({ status: 'completed', error: undefined });
    expect(readProgress(r?.job?.progress).failed).toBe(0);
  }
}

describe('two workers on one bot token share its budget through Postgres', () => {
  test('0 × 429, and the fake never sees more than its route or global limit', async () => {
    const fake = await startFake();
    try {
      const a = worker(fake);
      const b = worker(fake);
      const instances = [await newInstance(fake.token), await newInstance(fake.token)];
      await syncTogether([
        { runner: a.runner, instance: instances[0]! },
        { runner: b.runner, instance: instances[1]! },
      ]);
      for (const instance of instances) expect(await storedCount(instance)).toBe(4 * 1200);
      expect(fake.stats.route('GET /channels/:channel/messages')).toBeGreaterThanOrEqual(2 * 4 * 12);
      expect(fake.stats.status429).toBe(0);
      expect(fake.stats.maxRouteWindowRequests).toBeLessThanOrEqual(WINDOW.limit);
      expect(fake.stats.maxGlobalWindowRequests).toBeLessThanOrEqual(GLOBAL.limit);
    } finally {
      await fake.stop();
    }
  });

  test('a 429 one worker draws pauses the token for the other', async () => {
    const fake = await startFake();
    try {
      const a = worker(fake);
      const b = worker(fake);
      const instances = [await newInstance(fake.token), await newInstance(fake.token)];
      fake.inject({
        kind: '429-json',
        afterRequest: 20,
        count: 1,
        route: /\/messages$/,
        retryAfterSeconds: 1,
      });
      await syncTogether([
        { runner: a.runner, instance: instances[0]! },
        { runner: b.runner, instance: instances[1]! },
      ]);
      expect(fake.stats.status429).toBe(1);
      expect(fake.stats.limit429).toBe(0);
      const refused = [a.limiter.stats(instances[0]!), b.limiter.stats(instances[1]!)];
      expect(refused.map((s) => s.rateLimited).sort()).toEqual([0, 1]);
      // The one that was not refused learnt the pause from the database and waited it out.
      const other = refused[0]!.rateLimited === 0 ? a : b;
      const identity = tokenIdentity('discord', fake.token);
      const paused = other.budget.waits.filter((w) => w.reason === 'pause' && w.pausedIdentity === identity);
      expect(paused.length).toBeGreaterThan(0);
      for (const instance of instances) expect(await storedCount(instance)).toBe(4 * 1200);
    } finally {
      await fake.stop();
    }
  });

  test('a Cloudflare ban pauses every worker of the host and is probed one request at a time', async () => {
    const fake = await startFake();
    try {
      const a = worker(fake);
      const b = worker(fake);
      const instances = [await newInstance(fake.token), await newInstance(fake.token)];
      const done = syncTogether([
        { runner: a.runner, instance: instances[0]! },
        { runner: b.runner, instance: instances[1]! },
      ]);
      while (fake.stats.route('GET /channels/:channel/messages') < 20) await Bun.sleep(5);
      fake.banFor(800);
      await done;
      for (const instance of instances) expect(await storedCount(instance)).toBe(4 * 1200);
      // Refused: what was already in flight when the ban began (at most one request per chat
      // being synced), then only probes — first after 100 ms, then 200, 400, 800 ms: a ban of
      // 800 ms sees at most 4 of them. Without the shared probe every worker's every chat retries.
      const inFlightAtBan = 2 * CHAT_CONCURRENCY;
      expect(fake.stats.banned429).toBeGreaterThan(0);
      expect(fake.stats.banned429).toBeLessThanOrEqual(inFlightAtBan + 4);
      expect(fake.stats.limit429).toBe(0);
    } finally {
      await fake.stop();
    }
  });
});
