/** Baileys/WhatsApp disconnect status codes the session reacts to. */
export const DISCONNECT = {
  loggedOut: 401,
  forbidden: 403,
  connectionReplaced: 440,
  badSession: 500,
  restartRequired: 515,
  multideviceMismatch: 411,
} as const;

/** Status code of a Baileys disconnect error (a Boom carries it in `output.statusCode`). */
export function disconnectStatusOf(error: unknown): number | null {
  if (!error || typeof error !== 'object') return null;
  const output = (error as { output?: { statusCode?: unknown } }).output;
  if (typeof output?.statusCode === 'number') return output.statusCode;
  const status =
    (error as { statusCode?: unknown; status?: unknown }).statusCode ??
    (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : null;
}

/** True when a close means the device was unlinked: reconnecting cannot help. */
export function isLoggedOut(statusCode: number | null): boolean {
  return (
    statusCode === DISCONNECT.loggedOut ||
    statusCode === DISCONNECT.forbidden ||
    statusCode === DISCONNECT.multideviceMismatch
  );
}

/** Delay before reconnect attempt `attempt` (1-based): `base · 2^(attempt-1)`, capped, ±20 % jitter. */
export function reconnectDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
