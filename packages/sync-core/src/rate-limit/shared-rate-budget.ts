import { randomUUID } from 'node:crypto';
import { CancelledError } from '../errors/cancelled-error.ts';
import { type SlotTake, takeSlot } from './bucket-slots.ts';
import type { BudgetStore } from './budget-store.ts';
import { type Clock, systemClock } from './clock.ts';
import {
  applyPause,
  claimProbe,
  endProbe,
  type PauseVerdict,
  pauseState,
  pauseVerdict,
} from './pause-rules.ts';
import type {
  BudgetGrant,
  BudgetKey,
  BudgetRule,
  BudgetWait,
  GrantOutcome,
  PauseRequest,
  PauseState,
  RateBudget,
  TakeOptions,
} from './rate-budget.ts';
import { currentWaitScope } from './wait-scope.ts';

/** Options of {@link SharedRateBudget}. */
export interface SharedRateBudgetOptions {
  /**
   * What waits are slept on (the store's clock decides when; this one only sleeps).
   * @defaultValue systemClock
   */
  clock?: Clock;
  /**
   * How often a take looks again while every slot is held by a request in flight or another
   * request is probing a ban, ms.
   * @defaultValue 100
   */
  pollMs?: number;
  /**
   * How long a probe may stay in flight before another request may probe (its holder died), ms.
   * @defaultValue 60000
   */
  probeHoldMs?: number;
}

/** Defaults of {@link SharedRateBudgetOptions}. */
export const DEFAULT_SHARED_RATE_BUDGET_OPTIONS = {
  clock: systemClock,
  pollMs: 100,
  probeHoldMs: 60_000,
} satisfies Required<SharedRateBudgetOptions>;

type Attempt =
  | { granted: true; now: number; grantAt: number; probe: string | null }
  | { granted: false; now: number; retryAt: number; wait: Omit<BudgetWait, 'ms' | 'key'> };

/**
 * The {@link RateBudget} over a {@link BudgetStore}: pauses first (a cooldown or a probed ban of
 * any identity in `pauses`), then a slot of the bucket; waits sleep on the clock and are
 * reported to `onWait` and to the surrounding `RateLimiter.request`. With a
 * `PostgresBudgetStore` every process on the database shares one budget per identity.
 */
export class SharedRateBudget implements RateBudget {
  readonly store: BudgetStore;
  readonly #options: Required<SharedRateBudgetOptions>;

  constructor(store: BudgetStore, options: SharedRateBudgetOptions = {}) {
    this.store = store;
    this.#options = { ...DEFAULT_SHARED_RATE_BUDGET_OPTIONS, ...options };
  }

  async take(key: BudgetKey, rule: BudgetRule | null, options: TakeOptions = {}): Promise<BudgetGrant> {
    const scope = currentWaitScope();
    const signal = options.signal ?? scope?.signal;
    const pauses = options.pauses ?? [key.identity];
    const holder = randomUUID();
    const { clock } = this.#options;
    let waitedMs = 0;
    const report = (wait: BudgetWait) => {
      waitedMs += wait.ms;
      options.onWait?.(wait);
      scope?.onWait?.(wait);
    };
    for (;;) {
      if (signal?.aborted) throw new CancelledError('aborted while waiting', { cause: signal.reason });
      const attempt = await this.#attempt(key, rule, pauses, holder);
      if (!attempt.granted) {
        const ms = Math.max(1, Math.ceil(attempt.retryAt - attempt.now));
        report({ ...attempt.wait, ms, key });
        await clock.sleep(ms, signal);
        continue;
      }
      const grant = this.#grant(key, rule, holder, attempt.probe);
      const ms = Math.ceil(attempt.grantAt - attempt.now);
      if (ms > 0) {
        report({ reason: 'slot', ms, key });
        try {
          await clock.sleep(ms, signal);
        } catch (error) {
          await grant.release('unanswered');
          throw error;
        }
      }
      grant.waitedMs = waitedMs;
      return grant;
    }
  }

  pause(identity: string, request: PauseRequest): Promise<PauseState> {
    return this.store.mutatePause(identity, (row, now) => {
      const next = applyPause(row, request, now);
      return { next, result: pauseState(next, now) ?? { ...toState(next), untilMs: now } };
    });
  }

  async pauseOf(identity: string): Promise<PauseState | null> {
    const { now, rows } = await this.store.readPauses([identity]);
    return rows[0] ? pauseState(rows[0], now) : null;
  }

  async #attempt(
    key: BudgetKey,
    rule: BudgetRule | null,
    pauses: readonly string[],
    holder: string,
  ): Promise<Attempt> {
    if (rule === null) {
      if (pauses.length === 0) return { granted: true, now: 0, grantAt: 0, probe: null };
      const { now, rows } = await this.store.readPauses(pauses);
      const verdict = pauseVerdict(rows, now, this.#options.pollMs);
      if (verdict.kind === 'wait') return this.#pauseWait(verdict, now);
      if (verdict.kind === 'go') return { granted: true, now: 0, grantAt: 0, probe: null };
      return this.#probe(key, null, verdict.identity, holder, now);
    }
    // The pauses and the slot in one round trip: a cooldown or a ban leaves the bucket untouched.
    const taken = await this.store.mutateBucket<{
      now: number;
      verdict: PauseVerdict;
      take: SlotTake | null;
    }>(
      key,
      (state, now, rows) => {
        const verdict = pauseVerdict(rows, now, this.#options.pollMs);
        if (verdict.kind !== 'go') return { next: null, result: { now, verdict, take: null } };
        const take: SlotTake = takeSlot(state, rule, now, holder);
        return { next: take.granted ? state : null, result: { now, verdict, take } };
      },
      pauses,
    );
    const { now, verdict, take } = taken;
    if (verdict.kind === 'wait') return this.#pauseWait(verdict, now);
    if (verdict.kind === 'probe') return this.#probe(key, rule, verdict.identity, holder, now);
    return this.#slot(take as SlotTake, now, null);
  }

  /** A due probe of a ban: claimed for `holder` (then the slot, pauses already decided), or a wait. */
  async #probe(
    key: BudgetKey,
    rule: BudgetRule | null,
    identity: string,
    holder: string,
    now: number,
  ): Promise<Attempt> {
    const claimed = await this.store.mutatePause(identity, (row, at) => {
      const next = claimProbe(row, at, holder, this.#options.probeHoldMs);
      return { next: next ?? row, result: next !== null };
    });
    if (!claimed) {
      const wait = { reason: 'probe' as const, pausedIdentity: identity, pausedUntil: now };
      return { granted: false, now, retryAt: now + this.#options.pollMs, wait };
    }
    if (rule === null) return { granted: true, now: 0, grantAt: 0, probe: identity };
    const taken = await this.store.mutateBucket(key, (state, at) => {
      const take = takeSlot(state, rule, at, holder);
      return { next: take.granted ? state : null, result: { take, now: at } };
    });
    const attempt = this.#slot(taken.take, taken.now, identity);
    if (!attempt.granted) await this.#endProbe(identity, holder, false);
    return attempt;
  }

  #slot(take: SlotTake, now: number, probe: string | null): Attempt {
    if (take.granted) return { granted: true, now, grantAt: take.grantAt, probe };
    return { granted: false, now, retryAt: now + this.#options.pollMs, wait: { reason: 'slot' } };
  }

  #pauseWait(verdict: Extract<PauseVerdict, { kind: 'wait' }>, now: number): Attempt {
    const wait = { reason: verdict.reason, pausedIdentity: verdict.identity, pausedUntil: verdict.untilMs };
    return { granted: false, now, retryAt: verdict.untilMs, wait };
  }

  #grant(key: BudgetKey, rule: BudgetRule | null, holder: string, probe: string | null): BudgetGrant {
    let released = false;
    const release = async (outcome: GrantOutcome = 'answered') => {
      if (released) return;
      released = true;
      if (rule !== null && rule.countFrom === 'finish') {
        await this.store.releaseSlot(key, holder, rule);
      }
      if (probe !== null && outcome !== 'refused')
        await this.#endProbe(probe, holder, outcome === 'answered');
    };
    return { key, waitedMs: 0, probe, holder, release };
  }

  #endProbe(identity: string, holder: string, answered: boolean): Promise<void> {
    return this.store.mutatePause(identity, (row) => ({
      next: endProbe(row, holder, answered),
      result: undefined,
    }));
  }
}

function toState(row: {
  identity: string;
  untilMs: number;
  reason: string;
  probe: boolean;
  step: number;
}): PauseState {
  return { ...row, probing: false };
}
