import { CancelledError, TransientError } from '@omni/sync-core';

/** Something the correlator hands over: an ON_DEMAND chunk with the id of the request it answers. */
export interface CorrelatedAnswer<T> {
  sessionId: string;
  payload: T;
}

interface Waiter<T> {
  resolve(payload: T): void;
  reject(error: Error): void;
}

/**
 * Matches ON_DEMAND history chunks with the `fetchMessageHistory` request they answer, by the
 * request's message id that the phone echoes as `peerDataRequestSessionId`. A request waits with a
 * timeout (never a sleep); an answer that arrives while a request is still being sent (its id not
 * yet known) is held until that send resolves, then either claimed or released.
 */
export class OnDemandCorrelator<T> {
  readonly #waiters = new Map<string, Waiter<T>>();
  readonly #early = new Map<string, T>();
  #sending = 0;
  readonly #release: (payload: T) => void;

  /** @param release receives answers nobody waits for (late ones, repeats): they are pushed history. */
  constructor(release: (payload: T) => void) {
    this.#release = release;
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#waiters.size + this.#sending;
  }

  /**
   * Sends a request with `send` (which resolves with the request id) and waits up to `timeoutMs`
   * for its answer. Timeout → `TransientError` with `details.reason = 'phone_offline'`.
   */
  async request(
    send: () => Promise<string>,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<CorrelatedAnswer<T>> {
    if (signal.aborted) throw new CancelledError('cancelled before the history request was sent');
    this.#sending++;
    let sessionId: string;
    try {
      sessionId = await send();
    } finally {
      this.#sending--;
    }
    const early = this.#early.get(sessionId);
    this.#early.delete(sessionId);
    if (this.#sending === 0) this.#flushEarly();
    if (early !== undefined) return { sessionId, payload: early };
    return new Promise<CorrelatedAnswer<T>>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(sessionId);
      };
      const onAbort = () => {
        finish();
        reject(new CancelledError('cancelled while waiting for the phone', { details: { sessionId } }));
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new TransientError(
            `the phone did not answer history request ${sessionId} within ${timeoutMs} ms: it may be offline; the job can be resumed`,
            { details: { reason: 'phone_offline', sessionId, timeoutMs } },
          ),
        );
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.set(sessionId, {
        resolve: (payload) => {
          finish();
          resolve({ sessionId, payload });
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      });
    });
  }

  /** Offers an answer; `true` when a request claimed (or may still claim) it. */
  deliver(sessionId: string | null | undefined, payload: T): boolean {
    if (sessionId) {
      const waiter = this.#waiters.get(sessionId);
      if (waiter) {
        waiter.resolve(payload);
        return true;
      }
      if (this.#sending > 0) {
        this.#early.set(sessionId, payload);
        return true;
      }
    }
    this.#release(payload);
    return false;
  }

  /** Fails every waiting request (the socket closed). */
  failAll(error: Error): void {
    for (const waiter of [...this.#waiters.values()]) waiter.reject(error);
  }

  #flushEarly(): void {
    const early = [...this.#early.values()];
    this.#early.clear();
    for (const payload of early) this.#release(payload);
  }
}
