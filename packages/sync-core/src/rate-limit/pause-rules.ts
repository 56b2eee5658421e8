import type { PauseRequest, PauseState } from './rate-budget.ts';

/** A pause as stores keep it (one row per identity; `untilMs` 0 = none). */
export interface PauseRow {
  identity: string;
  untilMs: number;
  reason: string;
  probe: boolean;
  step: number;
  probeHolder: string | null;
  probeExpiresMs: number | null;
}

/** What the pauses say about a request now. */
export type PauseVerdict =
  | { kind: 'go' }
  /** Wait until `untilMs` (a cooldown, or the next probe of a ban). */
  | { kind: 'wait'; identity: string; untilMs: number; reason: 'pause' | 'probe' }
  /** A probed ban whose next probe is due and free: the request may claim it. */
  | { kind: 'probe'; identity: string };

/** An identity with no pause. */
export function emptyPause(identity: string): PauseRow {
  return { identity, untilMs: 0, reason: '', probe: false, step: 0, probeHolder: null, probeExpiresMs: null };
}

/*
 * The rules of pauses and probed bans, pure so every store runs the same code: when a request
 * may go, who probes, and how a refusal or an answer moves the schedule.
 */

/** The verdict of `rows` at `now`: the longest wait first; a due, free probe otherwise. */
export function pauseVerdict(rows: readonly PauseRow[], now: number, pollMs: number): PauseVerdict {
  let wait: PauseVerdict = { kind: 'go' };
  let probe: PauseVerdict | null = null;
  for (const row of rows) {
    if (row.untilMs > now) {
      if (wait.kind !== 'wait' || row.untilMs > wait.untilMs)
        wait = { kind: 'wait', identity: row.identity, untilMs: row.untilMs, reason: 'pause' };
      continue;
    }
    if (!row.probe) continue;
    if (probeInFlight(row, now)) {
      const untilMs = Math.min(row.probeExpiresMs ?? now + pollMs, now + pollMs);
      if (wait.kind !== 'wait') wait = { kind: 'wait', identity: row.identity, untilMs, reason: 'probe' };
      continue;
    }
    probe ??= { kind: 'probe', identity: row.identity };
  }
  return wait.kind === 'wait' ? wait : (probe ?? wait);
}

/** Whether a probe of a ban is in flight at `now`. */
export function probeInFlight(row: PauseRow, now: number): boolean {
  return row.probeHolder !== null && (row.probeExpiresMs ?? 0) > now;
}

/** Claims the due probe of `row` for `holder`; `null` when someone else has it or none is due. */
export function claimProbe(row: PauseRow, now: number, holder: string, holdMs: number): PauseRow | null {
  if (!row.probe || row.untilMs > now || probeInFlight(row, now)) return null;
  return { ...row, probeHolder: holder, probeExpiresMs: now + holdMs };
}

/** The row after `request` at `now`. */
export function applyPause(row: PauseRow, request: PauseRequest, now: number): PauseRow {
  if ('ms' in request) {
    const until = now + Math.max(0, request.ms);
    if (row.untilMs >= until) return row;
    return { ...row, untilMs: until, reason: request.reason };
  }
  const { firstMs, maxMs } = request.probe;
  const banned = row.probe;
  if (banned && request.holder !== undefined && request.holder === row.probeHolder) {
    const step = row.step + 1;
    return {
      ...row,
      untilMs: now + Math.min(maxMs, firstMs * 2 ** Math.min(step, 30)),
      reason: request.reason,
      step,
      probeHolder: null,
      probeExpiresMs: null,
    };
  }
  if (banned) return row;
  return {
    ...row,
    untilMs: Math.max(row.untilMs, now + firstMs),
    reason: request.reason,
    probe: true,
    step: 0,
    probeHolder: null,
    probeExpiresMs: null,
  };
}

/** The row after `holder`'s probe ended: answered lifts the ban, unanswered frees the probe. */
export function endProbe(row: PauseRow, holder: string, answered: boolean): PauseRow {
  if (!row.probe || row.probeHolder !== holder) return row;
  if (answered) return emptyPause(row.identity);
  return { ...row, probeHolder: null, probeExpiresMs: null };
}

/** The public view of a row at `now`; `null` when it holds nothing back. */
export function pauseState(row: PauseRow, now: number): PauseState | null {
  if (row.untilMs <= now && !row.probe) return null;
  return {
    identity: row.identity,
    untilMs: row.untilMs,
    reason: row.reason,
    probe: row.probe,
    step: row.step,
    probing: probeInFlight(row, now),
  };
}
