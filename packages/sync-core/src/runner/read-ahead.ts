/**
 * Iterates `source` one item ahead: as soon as an item is handed out, the next one is asked for,
 * so the source's work for item k + 1 (a platform request, its rate-budget wait, parsing) runs
 * while the caller handles item k (storing it). At most one item is held beyond the one handed out.
 *
 * An error of the item asked for ahead surfaces where that item would have been handed out, after
 * the caller is done with the current one. When the caller stops early, the source is closed
 * without waiting for the item in flight (its platform call ends with the run's signal); that
 * item is dropped unseen.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let ahead: Promise<IteratorResult<T>> | null = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const current: IteratorResult<T> = await ahead;
      ahead = null;
      if (current.done) {
        finished = true;
        return;
      }
      ahead = iterator.next();
      // Handled where it is awaited; until then, a rejection must not count as unhandled.
      ahead.catch(() => {});
      yield current.value;
    }
  } catch (error) {
    finished = true;
    throw error;
  } finally {
    // Stopped early (the caller broke out, or handling an item threw): close the source once the
    // item in flight settles, without holding the caller up for it.
    if (!finished) {
      const close = () => void iterator.return?.()?.catch(() => {});
      if (ahead) void ahead.then(close, close);
      else close();
    }
  }
}
