/** What an injected fault does to a request. */
export type FakeFaultKind =
  /** Discord JSON 429 with `retry_after`, `Retry-After` and the rate-limit headers. */
  | '429-json'
  /** JSON 429 with only `retry_after` in the body: no headers at all. */
  | '429-bare-json'
  /** Cloudflare's HTML 429 page: no rate-limit headers, no JSON. */
  | '429-html'
  /** 500 Internal Server Error. */
  | '500'
  /** 502 Bad Gateway (HTML, as a proxy sends it). */
  | '502'
  /** The normal answer, `delayMs` late. */
  | 'slow'
  /** The normal status and headers, but the JSON body cut in half. */
  | 'truncated';

/** A fault applied to `count` requests (matching `route`) after the `afterRequest`-th one. */
export interface FakeFault {
  kind: FakeFaultKind;
  /** The fault starts after this many matching requests went through normally. @defaultValue 0 */
  afterRequest?: number;
  /** How many requests it hits. @defaultValue 1 */
  count?: number;
  /** Only API paths matching this (e.g. `/messages`) count and are hit. @defaultValue every API route */
  route?: RegExp;
  /** `retry_after` of an injected JSON 429, seconds. @defaultValue 0.2 */
  retryAfterSeconds?: number;
  /** Delay of a `slow` answer, ms. @defaultValue 1000 */
  delayMs?: number;
}

/** What every fake's faults have in common: when they start, how many requests, which routes. */
export type FaultWindow = Pick<FakeFault, 'afterRequest' | 'count' | 'route'>;

interface ActiveFault<F extends FaultWindow> {
  fault: F;
  seen: number;
  hits: number;
}

/**
 * Decides, request by request, which injected fault (if any) applies. Generic over the fault
 * shape so every fake (Discord's {@link FakeFault}, Slack's) counts the same way.
 */
export class FaultInjector<F extends FaultWindow = FakeFault> {
  #faults: ActiveFault<F>[] = [];

  /** Adds a fault; several can be active. */
  add(fault: F): void {
    this.#faults.push({ fault, seen: 0, hits: 0 });
  }

  /** Removes every fault. */
  clear(): void {
    this.#faults = [];
  }

  /** How many requests each fault has hit so far, in the order they were added. */
  get hits(): number[] {
    return this.#faults.map((f) => f.hits);
  }

  /** The fault for an API request to `path`, counting it. */
  next(path: string): F | null {
    for (const active of this.#faults) {
      const { fault } = active;
      if (fault.route && !fault.route.test(path)) continue;
      active.seen++;
      if (active.seen > (fault.afterRequest ?? 0) && active.hits < (fault.count ?? 1)) {
        active.hits++;
        return fault;
      }
    }
    return null;
  }
}
