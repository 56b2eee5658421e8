import { AsyncLocalStorage } from 'node:async_hooks';
import type { BudgetWait } from './rate-budget.ts';

/** What a surrounding `RateLimiter.request` wants to hear about waits inside its call. */
export interface WaitScope {
  signal?: AbortSignal;
  onWait?: (wait: BudgetWait) => void;
}

const storage = new AsyncLocalStorage<WaitScope>();

/**
 * Runs `fn` with `scope` visible to every budget take inside it, so a wait deep in a plugin
 * (Discord's channel and global windows, a Cloudflare ban) is reported to the job that waits.
 */
export function withWaitScope<T>(scope: WaitScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** The scope of the surrounding `RateLimiter.request`, if any. */
export function currentWaitScope(): WaitScope | undefined {
  return storage.getStore();
}
