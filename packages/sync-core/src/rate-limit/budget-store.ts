import type { BucketState } from './bucket-slots.ts';
import type { PauseRow } from './pause-rules.ts';
import type { BudgetKey, BudgetRule } from './rate-budget.ts';

/** A change computed from a row's current value and the store's clock. */
export type Mutation<S, R> = (current: S, now: number) => { next: S; result: R };

/**
 * A change of a bucket computed from its state, the store's clock and the pauses read in the
 * same round trip (see {@link BudgetStore.mutateBucket}); `next: null` leaves the bucket as it
 * was and writes nothing (a take that has to wait).
 */
export type BucketMutation<R> = (
  current: BucketState,
  now: number,
  pauses: readonly PauseRow[],
) => { next: BucketState | null; result: R };

/**
 * Where a {@link SharedRateBudget} keeps its state: three atomic primitives, so the rules
 * (`BucketSlots`, `PauseRules`) are the same code for every store. `now` is the store's clock
 * (the database's for Postgres, so processes on different hosts agree).
 */
export interface BudgetStore {
  /** The pauses of `identities` (missing ones as none) and the store's now. */
  readPauses(identities: readonly string[]): Promise<{ now: number; rows: PauseRow[] }>;
  /**
   * Applies `mutation` to the bucket's state atomically (compare-and-set or row-locked), returns
   * its result. The pauses of `pauses` (missing ones as none) are read with the state, at the
   * same `now`, so a take checks cooldowns and its slot in one round trip.
   */
  mutateBucket<R>(key: BudgetKey, mutation: BucketMutation<R>, pauses?: readonly string[]): Promise<R>;
  /**
   * Frees `holder`'s slot of a `countFrom: 'finish'` bucket atomically: its window counts from the
   * store's now (the rule of `releaseSlot`). Nothing happens when the holder has no slot.
   */
  releaseSlot(key: BudgetKey, holder: string, rule: BudgetRule): Promise<void>;
  /** Applies `mutation` to the identity's pause atomically, returns its result. */
  mutatePause<R>(identity: string, mutation: Mutation<PauseRow, R>): Promise<R>;
}
