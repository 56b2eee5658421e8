/** A scenario's check did not hold; the message says what was expected and what was seen. */
export class ScenarioFailure extends Error {
  override readonly name = 'ScenarioFailure';
}

/** Throws a {@link ScenarioFailure} unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `everyMs` until it returns a truthy value; throws after `timeoutMs`
 * saying `what` did not happen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  options: { timeoutMs: number; everyMs?: number },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new ScenarioFailure(`timed out after ${options.timeoutMs} ms: ${what}`);
    await sleep(options.everyMs ?? 25);
  }
}
