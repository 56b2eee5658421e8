import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTestDb, TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import {
  type BudgetGrant,
  type BudgetWait,
  CancelledError,
  ExponentialCooldownPolicy,
  fixedRateSource,
  MemoryBudgetStore,
  PostgresBudgetStore,
  RateLimitedError,
  RateLimiter,
  type RateLimitWait,
  SharedRateBudget,
  VirtualClock,
} from '../src/index.ts';

const PROBE = { firstMs: 30_000, maxMs: 16 * 60_000 };

describe('SharedRateBudget (rules, virtual time)', () => {
  test('a window of 2: takes past the limit are reserved in order, each at the slot it frees', async () => {
    const clock = new VirtualClock(0);
    const budget = new SharedRateBudget(new MemoryBudgetStore(clock), { clock });
    const key = { identity: 'x:token:1', bucket: 'global' };
    const rule = { limit: 2, windowMs: 1000 };
    const waits: BudgetWait[] = [];
    for (let i = 0; i < 5; i++) await budget.take(key, rule, { onWait: (w) => waits.push(w) });
    // The third waits for the first slot; the fourth finds the second slot free; the fifth waits.
    expect(waits.map((w) => [w.reason, w.ms])).toEqual([
      ['slot', 1000],
      ['slot', 1000],
    ]);
    expect(clock.now()).toBe(2000);
  });

  test("a 'finish' rule holds the slot until release and counts the window from it", async () => {
    const clock = new VirtualClock(0);
    const budget = new SharedRateBudget(new MemoryBudgetStore(clock), { clock, pollMs: 10 });
    const key = { identity: 'x:token:1', bucket: 'channel:1' };
    const rule = { limit: 1, windowMs: 500, countFrom: 'finish' as const };
    const first = await budget.take(key, rule);
    const waits: BudgetWait[] = [];
    const abort = new AbortController();
    const blocked = await budget
      .take(key, rule, {
        signal: abort.signal,
        onWait: (w) => {
          waits.push(w);
          if (waits.length === 2) abort.abort();
        },
      })
      .catch((e: unknown) => e);
    // While the first is in flight (its answer not in) a take can only look again later.
    expect(blocked).toBeInstanceOf(CancelledError);
    expect(waits.map((w) => [w.reason, w.ms])).toEqual([
      ['slot', 10],
      ['slot', 10],
    ]);
    const releasedAt = clock.now();
    await first.release();
    const next = await budget.take(key, rule);
    expect(next.waitedMs).toBe(500);
    expect(clock.now()).toBe(releasedAt + 500);
  });

  test('a probed ban: 30 s, then one probe at a time, each refusal doubling; the first answer resumes all', async () => {
    const clock = new VirtualClock(0);
    const budget = new SharedRateBudget(new MemoryBudgetStore(clock), { clock, pollMs: 1000 });
    const ip = 'ip:host';
    const key = { identity: 'discord:token:a', bucket: 'global' };
    const first = await budget.pause(ip, { probe: PROBE, reason: 'cloudflare' });
    expect(first.untilMs).toBe(30_000);

    const probedAt: number[] = [];
    const refusedAt: number[] = [];
    let probe = await budget.take(key, null, { pauses: [ip] });
    for (let i = 0; i < 4; i++) {
      expect(probe.probe).toBe(ip);
      probedAt.push(clock.now());
      // While the probe is in flight, any other take waits: never two probes at once.
      const other: BudgetWait[] = [];
      const abort = new AbortController();
      await budget
        .take(key, null, {
          pauses: [ip],
          signal: abort.signal,
          onWait: (w) => {
            other.push(w);
            if (other.length === 2) abort.abort();
          },
        })
        .catch((e: unknown) => e);
      expect(other.map((w) => w.reason)).toEqual(['probe', 'probe']);
      refusedAt.push(clock.now());
      await budget.pause(ip, { probe: PROBE, reason: 'cloudflare', holder: probe.holder });
      await probe.release('refused');
      probe = await budget.take(key, null, { pauses: [ip] });
    }
    expect(probe.probe).toBe(ip);
    probedAt.push(clock.now());
    expect(probedAt[0]).toBe(30_000);
    expect(probedAt.slice(1).map((at, i) => at - refusedAt[i]!)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect((await budget.pauseOf(ip))?.step).toBe(4);

    const waiting: Promise<BudgetGrant>[] = [];
    await probe.release('answered');
    for (let i = 0; i < 3; i++) waiting.push(budget.take(key, null, { pauses: [ip] }));
    const resumed = await Promise.all(waiting);
    expect(resumed.map((g) => [g.probe, g.waitedMs])).toEqual([
      [null, 0],
      [null, 0],
      [null, 0],
    ]);
    expect(await budget.pauseOf(ip)).toBeNull();
  });

  test('a bucket keeps only the slots still counting: with a limit far above the rate it does not grow per request', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryBudgetStore(clock);
    const budget = new SharedRateBudget(store, { clock });
    const key = { identity: 'x:token:1', bucket: 'global' };
    const rule = { limit: 100_000, windowMs: 1000, countFrom: 'finish' as const };
    for (let i = 0; i < 500; i++) {
      const grant = await budget.take(key, rule);
      await grant.release();
      clock.advance(100);
    }
    // Ten requests a window: every older slot is free again and counts for nothing.
    const slots = await store.mutateBucket(key, (state) => ({ next: null, result: state.slots.length }));
    expect(slots).toBeLessThanOrEqual(10);
  });

  test('a refusal from a request that was not the probe changes nothing; a lost probe frees the turn', async () => {
    const clock = new VirtualClock(0);
    const budget = new SharedRateBudget(new MemoryBudgetStore(clock), { clock });
    const ip = 'ip:host';
    await budget.pause(ip, { probe: PROBE, reason: 'cloudflare' });
    const again = await budget.pause(ip, { probe: PROBE, reason: 'cloudflare (in flight before)' });
    expect([again.untilMs, again.step]).toEqual([30_000, 0]);
    const probe = await budget.take({ identity: ip, bucket: 'global' }, null, { pauses: [ip] });
    await probe.release('unanswered');
    const next = await budget.take({ identity: ip, bucket: 'global' }, null, { pauses: [ip] });
    expect(next.probe).toBe(ip);
    expect((await budget.pauseOf(ip))?.step).toBe(0);
  });
});

for (const engine of TEST_ENGINES) {
  describe(`SharedRateBudget over ${engine}: two processes, one budget`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await createTestDb(engine);
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    });

    /** A process's view: its own budget object over the shared database. */
    const processView = () => new SharedRateBudget(new PostgresBudgetStore(t.db), { pollMs: 20 });

    test('a 429 one limiter draws pauses every instance of the same identity in the other', async () => {
      const identity = `discord:token:${crypto.randomUUID()}`;
      const a = new RateLimiter({
        rates: fixedRateSource({}),
        budget: processView(),
        maxRateLimitRetries: 0,
        cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
      });
      const b = new RateLimiter({ rates: fixedRateSource({}), budget: processView() });
      const refused = await a
        .request({ instanceId: 'i1', channel: 'discord', identity }, 'messages', async () => {
          throw new RateLimitedError('429', { retryAfterMs: 300 });
        })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RateLimitedError);
      const waits: RateLimitWait[] = [];
      await b.request({ instanceId: 'i2', channel: 'discord', identity }, 'contacts', async () => 1, {
        onWait: (w) => waits.push(w),
      });
      expect(waits.length).toBeGreaterThan(0);
      expect(waits[0]).toMatchObject({ reason: 'cooldown', pausedIdentity: identity, kind: 'contacts' });
      expect(waits[0]!.ms).toBeLessThanOrEqual(300);
      const other: RateLimitWait[] = [];
      await b.request({ instanceId: 'i3', channel: 'discord' }, 'messages', async () => 1, {
        onWait: (w) => other.push(w),
      });
      expect(other).toEqual([]);
    });

    test('a window shared by two processes: takes beyond its limit wait, whichever process asks', async () => {
      const key = { identity: `slack:token:${crypto.randomUUID()}`, bucket: 'method:conversations.history' };
      const rule = { limit: 3, windowMs: 60_000 };
      const [a, b] = [processView(), processView()];
      for (const budget of [a, b, a]) expect((await budget.take(key, rule)).waitedMs).toBe(0);
      const abort = new AbortController();
      const waits: BudgetWait[] = [];
      const fourth = await b
        .take(key, rule, {
          signal: abort.signal,
          onWait: (w) => {
            waits.push(w);
            abort.abort();
          },
        })
        .catch((e: unknown) => e);
      expect(fourth).toBeInstanceOf(Error);
      expect(waits[0]?.reason).toBe('slot');
      expect(waits[0]!.ms).toBeGreaterThan(50_000);
    });

    test('concurrent takes of one process on one window: exactly its limit go at once, the rest wait', async () => {
      const key = { identity: `discord:token:${crypto.randomUUID()}`, bucket: 'global' };
      const rule = { limit: 5, windowMs: 60_000, countFrom: 'finish' as const };
      const budget = processView();
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, async () => {
          const abort = new AbortController();
          return budget
            .take(key, rule, { signal: abort.signal, pauses: [key.identity], onWait: () => abort.abort() })
            .then(
              (g) => g.waitedMs,
              (e: unknown) => e,
            );
        }),
      );
      expect(outcomes.filter((o) => o === 0)).toHaveLength(5);
      expect(outcomes.filter((o) => o instanceof CancelledError)).toHaveLength(7);
    });

    test("a 'finish' slot released by one process counts its window from the database's now; another holder's release changes nothing", async () => {
      const key = { identity: `discord:token:${crypto.randomUUID()}`, bucket: 'channel:1' };
      const rule = { limit: 2, windowMs: 60_000, countFrom: 'finish' as const, holdMs: 600_000 };
      const [a, b] = [processView(), processView()];
      const first = await a.take(key, rule);
      const second = await b.take(key, rule);
      const read = async () => {
        const { rows } = await sql<{ state: { slots: { t: number; h: string | null }[] }; now: number }>`
          SELECT state, (extract(epoch from clock_timestamp()) * 1000)::float8 AS now FROM rate_budgets
          WHERE identity = ${key.identity} AND bucket = ${key.bucket}`.execute(t.db);
        return { slots: rows[0]!.state.slots, now: Number(rows[0]!.now) };
      };
      await b.store.releaseSlot(key, 'no such holder', rule);
      const held = await read();
      expect(held.slots.map((s) => s.h).sort()).toEqual([first.holder, second.holder].sort());
      await first.release();
      const after = await read();
      const released = after.slots.find((s) => s.h === null);
      expect(after.slots.map((s) => s.h)).toContain(second.holder);
      expect(released!.t - after.now).toBeGreaterThan(50_000);
      expect(released!.t - after.now).toBeLessThanOrEqual(60_000);
    });

    test('a probed ban across processes: only one of many waiting takes probes; its answer resumes all', async () => {
      const ip = `ip:${crypto.randomUUID()}`;
      const probeRule = { firstMs: 100, maxMs: 10_000 };
      const [a, b] = [processView(), processView()];
      await a.pause(ip, { probe: probeRule, reason: 'cloudflare' });
      const key = { identity: 'discord:token:x', bucket: 'global' };
      let probesInFlight = 0;
      let maxProbesInFlight = 0;
      let lifted = false;
      let probes = 0;
      const takes = [a, b, a, b, a, b].map(async (budget) => {
        const grant = await budget.take(key, null, { pauses: [ip] });
        if (grant.probe === null) {
          // Nothing but a probe goes while the ban holds.
          expect(lifted).toBe(true);
          return grant;
        }
        probesInFlight++;
        maxProbesInFlight = Math.max(maxProbesInFlight, probesInFlight);
        probes++;
        await Bun.sleep(30);
        probesInFlight--;
        if (probes === 1) {
          // The first probe is refused: the ban goes on, the next probe waits twice as long.
          const state = await budget.pause(ip, {
            probe: probeRule,
            reason: 'cloudflare',
            holder: grant.holder,
          });
          expect(state.step).toBe(1);
          await grant.release('refused');
        } else {
          lifted = true;
          await grant.release('answered');
        }
        return grant;
      });
      const all = await Promise.all(takes);
      expect(all.filter((g) => g.probe !== null)).toHaveLength(2);
      expect(maxProbesInFlight).toBe(1);
      expect(await a.pauseOf(ip)).toBeNull();
    });
  });
}
