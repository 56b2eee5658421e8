import type { BudgetRule } from './rate-budget.ts';

/** One slot of a bucket: free again at `t` (ms epoch); `h` = the grant holding it, if any. */
export interface BudgetSlot {
  t: number;
  h: string | null;
}

/** What a bucket row stores. */
export interface BucketState {
  slots: BudgetSlot[];
}

/** Result of {@link BucketSlots.take}. */
export type SlotTake =
  /** Granted: the request may go at `grantAt` (now, or later for a reservation). */
  | { granted: true; grantAt: number }
  /** Every slot is held by a request in flight: look again at `retryAt`. */
  | { granted: false; retryAt: number };

/** Defaults of {@link BudgetRule}. */
export const DEFAULT_BUDGET_RULE = { countFrom: 'start', holdMs: 60_000 } as const satisfies Required<
  Omit<BudgetRule, 'limit' | 'windowMs'>
>;

/*
 * The window arithmetic of one bucket, pure so that every store (in memory, Postgres, PGlite)
 * runs the same code: a sliding-window log of `limit` slots.
 */

/**
 * Takes a slot for `holder` at `now`, mutating `state`: the slot free first — at once, or as a
 * reservation at the instant it frees (so waiters queue in order instead of racing) — marked
 * held; a `'start'` rule frees it `windowMs` after the grant, a `'finish'` rule `windowMs` after
 * its release. A held slot whose holder never releases it frees `holdMs + windowMs` after its grant.
 */
export function takeSlot(state: BucketState, rule: BudgetRule, now: number, holder: string): SlotTake {
  const limit = Math.max(1, Math.floor(rule.limit));
  const finish = (rule.countFrom ?? DEFAULT_BUDGET_RULE.countFrom) === 'finish';
  const holdMs = rule.holdMs ?? DEFAULT_BUDGET_RULE.holdMs;
  const slots = normalizedSlots(state, limit, now);
  let grantAt = now;
  let index = slots.length;
  if (slots.length >= limit) {
    index = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i]!.t < slots[index]!.t) index = i;
    const first = slots[index]!;
    if (first.h !== null && first.t > now) return { granted: false, retryAt: first.t };
    grantAt = Math.max(now, first.t);
  }
  slots[index] = finish
    ? { t: grantAt + holdMs + rule.windowMs, h: holder }
    : { t: grantAt + rule.windowMs, h: null };
  state.slots = slots;
  return { granted: true, grantAt };
}

/** Frees `holder`'s slot (a `'finish'` rule): the window counts from `now`. */
export function releaseSlot(state: BucketState, rule: BudgetRule, now: number, holder: string): void {
  for (const slot of state.slots) {
    if (slot.h === holder) {
      slot.t = now + rule.windowMs;
      slot.h = null;
    }
  }
}

/**
 * The slots that still count at `now`, trimmed to `limit` (a lowered limit keeps the latest
 * ones). A slot free again by `now` — its window over, or its holder's hold expired — counts for
 * nothing: dropping it grants exactly what keeping it would, and keeps the state as small as the
 * requests of one window (with a high limit it would otherwise grow by one slot per request, up
 * to `limit`, and every take would read and write all of them).
 */
function normalizedSlots(state: BucketState, limit: number, now: number): BudgetSlot[] {
  const slots: BudgetSlot[] = [];
  if (Array.isArray(state.slots))
    for (const s of state.slots) if (s.t > now) slots.push({ t: s.t, h: s.h ?? null });
  if (slots.length <= limit) return slots;
  return slots.sort((a, b) => b.t - a.t).slice(0, limit);
}
