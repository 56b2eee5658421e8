import { type BucketState, releaseSlot } from './bucket-slots.ts';
import type { BucketMutation, BudgetStore, Mutation } from './budget-store.ts';
import { type Clock, systemClock } from './clock.ts';
import { emptyPause, type PauseRow } from './pause-rules.ts';
import type { BudgetKey, BudgetRule } from './rate-budget.ts';

/**
 * A {@link BudgetStore} in one process's memory: the same rules as `PostgresBudgetStore`, for
 * tests (with a `VirtualClock`) and for a plugin used without the engine. Not shared between
 * processes — production wires `PostgresBudgetStore` in every mode (PGlite when embedded).
 */
export class MemoryBudgetStore implements BudgetStore {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, BucketState>();
  readonly #pauses = new Map<string, PauseRow>();

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  async readPauses(identities: readonly string[]): Promise<{ now: number; rows: PauseRow[] }> {
    const rows = identities.map((id) => ({ ...(this.#pauses.get(id) ?? emptyPause(id)) }));
    return { now: this.#clock.now(), rows };
  }

  async mutateBucket<R>(
    key: BudgetKey,
    mutation: BucketMutation<R>,
    pauses: readonly string[] = [],
  ): Promise<R> {
    const id = `${key.identity}\u0000${key.bucket}`;
    const current = this.#buckets.get(id) ?? { slots: [] };
    const rows = pauses.map((p) => ({ ...(this.#pauses.get(p) ?? emptyPause(p)) }));
    const { next, result } = mutation(structuredClone(current), this.#clock.now(), rows);
    if (next !== null) this.#buckets.set(id, next);
    return result;
  }

  releaseSlot(key: BudgetKey, holder: string, rule: BudgetRule): Promise<void> {
    return this.mutateBucket(key, (state, now) => {
      releaseSlot(state, rule, now, holder);
      return { next: state, result: undefined };
    });
  }

  async mutatePause<R>(identity: string, mutation: Mutation<PauseRow, R>): Promise<R> {
    const current = this.#pauses.get(identity) ?? emptyPause(identity);
    const { next, result } = mutation({ ...current }, this.#clock.now());
    this.#pauses.set(identity, next);
    return result;
  }
}
