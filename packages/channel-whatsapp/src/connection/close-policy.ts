import { DISCONNECT, isLoggedOut, reconnectDelayMs } from './reconnect-backoff.ts';

/** What to do after a socket closed. */
export type CloseDecision =
  | { action: 'stopped' }
  | { action: 'logged_out' }
  | { action: 'replaced' }
  | { action: 'give_up'; attempts: number }
  | { action: 'reconnect'; attempts: number; delayMs: number };

/** Facts {@link decideOnClose} needs. */
export interface CloseFacts {
  statusCode: number | null;
  /** The close was asked for (`disconnect`, `logout`). */
  stopping: boolean;
  /** Reconnect attempts made since the last successful open. */
  attempts: number;
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

/**
 * Reconnect policy: an asked-for close stays closed; logged out (401/403/411) is final; a session
 * replaced elsewhere (440) is not fought over; `restartRequired` (515, after pairing) reconnects at
 * once; anything else reconnects with exponential backoff until `maxAttempts`.
 */
export function decideOnClose(facts: CloseFacts): CloseDecision {
  if (facts.stopping) return { action: 'stopped' };
  if (isLoggedOut(facts.statusCode)) return { action: 'logged_out' };
  if (facts.statusCode === DISCONNECT.connectionReplaced) return { action: 'replaced' };
  const attempts = facts.attempts + 1;
  if (attempts > facts.maxAttempts) return { action: 'give_up', attempts: facts.attempts };
  const delayMs =
    facts.statusCode === DISCONNECT.restartRequired
      ? 0
      : reconnectDelayMs(attempts, facts.baseMs, facts.maxMs, facts.random);
  return { action: 'reconnect', attempts, delayMs };
}
