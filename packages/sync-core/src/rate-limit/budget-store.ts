import type { BucketState } from './bucket-slots.ts';
import type { PauseRow } from './pause-rules.ts';
import type { BudgetKey } from './rate-budget.ts';

/** A change computed from a row's current value and the store's clock. */
export type Mutation<S, R> = (current: S, now: number) => { next: S; result: R };

/**
 * Where a {@link SharedRateBudget} keeps its state: three atomic primitives, so the rules
 * (`BucketSlots`, `PauseRules`) are the same code for every store. `now` is the store's clock
 * (the database's for Postgres, so processes on different hosts agree).
 */
export interface BudgetStore {
  /** The pauses of `identities` (missing ones as none) and the store's now. */
  readPauses(identities: readonly string[]): Promise<{ now: number; rows: PauseRow[] }>;
  /** Applies `mutation` to the bucket's state atomically (row-locked), returns its result. */
  mutateBucket<R>(key: BudgetKey, mutation: Mutation<BucketState, R>): Promise<R>;
  /** Applies `mutation` to the identity's pause atomically, returns its result. */
  mutatePause<R>(identity: string, mutation: Mutation<PauseRow, R>): Promise<R>;
}
