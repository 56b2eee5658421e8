/**
 * The limited thing: `identity` is what the platform limits (a Discord bot token, a WhatsApp
 * account, a Slack workspace, an IP), `bucket` one limit inside it (`global`, `channel:<id>`,
 * `kind:messages`, `method:conversations.history`).
 */
export interface BudgetKey {
  identity: string;
  bucket: string;
}

/**
 * At most `limit` requests in any window of `windowMs`. With `countFrom: 'finish'` a request
 * holds its slot until {@link BudgetGrant.release} and the window counts from then (the answer
 * was in, so the server certainly saw it — safe against the server's own fixed windows whatever
 * the latency); with `'start'` (a plain rate, e.g. requests per minute) it counts from the grant.
 */
export interface BudgetRule {
  limit: number;
  windowMs: number;
  /** @defaultValue 'start' */
  countFrom?: 'start' | 'finish';
  /**
   * With `countFrom: 'finish'`: longest a slot stays held without a release (its holder died),
   * ms. @defaultValue 60000
   */
  holdMs?: number;
}

/** A wait the budget imposed before granting. */
export interface BudgetWait {
  /** `slot`: the bucket's window is full; `pause`: the identity is cooling down; `probe`: a ban is being probed by someone else. */
  reason: 'slot' | 'pause' | 'probe';
  ms: number;
  key: BudgetKey;
  /** The identity whose pause is waited for (`pause`, `probe`). */
  pausedIdentity?: string;
  /** When that pause ends (ms epoch, the budget's clock); for `probe`, when the next probe may go. */
  pausedUntil?: number;
}

/** Per-take options. */
export interface TakeOptions {
  /** Aborts the wait (job cancelled, shutdown); the take then rejects with `CancelledError`. */
  signal?: AbortSignal;
  /**
   * Identities whose pauses hold this take back. A take whose wait ends at a probed ban
   * (see {@link PauseRequest.probe}) may become that ban's one probe.
   * @defaultValue [key.identity]
   */
  pauses?: readonly string[];
  /** Called before every wait (in addition to the hooks of the surrounding `RateLimiter.request`). */
  onWait?: (wait: BudgetWait) => void;
}

/** How a granted request went, told on release. */
export type GrantOutcome = 'answered' | 'refused' | 'unanswered';

/** A granted slot. */
export interface BudgetGrant {
  key: BudgetKey;
  /** Total wait before the grant, ms. */
  waitedMs: number;
  /** The probed identity when this request is a ban's probe, else `null`. */
  probe: string | null;
  /** Opaque id of this grant (pass it to {@link RateBudget.pause} when a probe was refused). */
  holder: string;
  /**
   * Ends the grant: a `countFrom: 'finish'` slot counts its window from now. A probe that was
   * `answered` (anything but the ban's refusal) lifts the ban everywhere; `unanswered` (network
   * failure) lets another request probe; `refused` leaves the ban to {@link RateBudget.pause}.
   * Idempotent.
   * @defaultValue outcome 'answered'
   */
  release(outcome?: GrantOutcome): Promise<void>;
}

/** A pause of a whole identity. */
export type PauseRequest =
  | {
      /** Pause for this long from now, ms (a Retry-After); an existing longer pause is kept. */
      ms: number;
      reason: string;
    }
  | {
      /**
       * A ban probed on a growing schedule: no request until `firstMs` from now, then one probe
       * at a time; each refused probe doubles the wait (capped at `maxMs`); the first answered
       * probe lifts it. Reported again by a request that is not the probe, it changes nothing.
       */
      probe: { firstMs: number; maxMs: number };
      reason: string;
      /** The refused probe's {@link BudgetGrant.holder}, when the refusal was a probe's. */
      holder?: string;
    };

/** The pause state of one identity. */
export interface PauseState {
  identity: string;
  /** No request before this instant (ms epoch); for a probed ban, the next probe. */
  untilMs: number;
  reason: string;
  probe: boolean;
  /** Refused probes so far. */
  step: number;
  /** Whether a probe is in flight now. */
  probing: boolean;
}

/**
 * One rate budget per platform identity, shared by every process that talks to the platform
 * (DESIGN.md invariant 9). `PostgresBudgetStore` shares it through the database (Postgres or
 * PGlite); `MemoryBudgetStore` keeps it in one process (tests, a plugin used alone).
 *
 * @example
 * ```ts
 * const budget = new SharedRateBudget(new PostgresBudgetStore(db));
 * const key = { identity: tokenIdentity('slack', token), bucket: 'method:conversations.history' };
 * const grant = await budget.take(key, { limit: 50, windowMs: 60_000 }, { signal });
 * try {
 *   return await call();
 * } finally {
 *   await grant.release();
 * }
 * ```
 */
export interface RateBudget {
  /** Waits until the key's bucket (`rule`; `null` = pauses only) and the pauses allow one request. */
  take(key: BudgetKey, rule: BudgetRule | null, options?: TakeOptions): Promise<BudgetGrant>;
  /** Pauses an identity for every process (a 429, a ban). */
  pause(identity: string, request: PauseRequest): Promise<PauseState>;
  /** The identity's pause, or `null` when it may go. */
  pauseOf(identity: string): Promise<PauseState | null>;
}
