import type { Database, SettingsService } from '@omni/db';
import { PostgresBudgetStore, RateLimiter, SharedRateBudget, settingsRateSource } from '@omni/sync-core';
import type { Kysely } from 'kysely';

/**
 * The rate limiter of a process: rates from the settings (`sync.<platform>.*PerMinute`, requests
 * per minute per platform identity), buckets and pauses in the database every process shares
 * (`rate_budgets`, `rate_pauses`; PGlite when embedded) — so N workers, the API and the profile
 * service on one bot token together never send more than one budget allows, and a 429 seen by
 * any of them pauses the token for all (DESIGN.md invariant 9). One per process is enough.
 */
export function createRateLimiter(db: Kysely<Database>, settings: Pick<SettingsService, 'get'>): RateLimiter {
  return new RateLimiter({
    rates: settingsRateSource(settings),
    budget: new SharedRateBudget(new PostgresBudgetStore(db)),
  });
}
