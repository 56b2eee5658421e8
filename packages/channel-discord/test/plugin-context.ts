import {
  instanceId,
  type JsonValue,
  type Logger,
  MediaFetcher,
  type PluginContext,
  RateLimitedError,
  type RequestKind,
  TransientError,
} from '@omni/sync-core';

/** What the test context saw. */
export interface ContextLog {
  calls: Record<RequestKind, number>;
  rateLimited: RateLimitedError[];
  transient: TransientError[];
  warnings: string[];
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A minimal engine stand-in: media through the engine's real `MediaFetcher`; `request` runs `fn`, and on a `RateLimitedError` waits
 * `retryAfterMs` (capped by `maxWaitMs`) and runs it again; a `TransientError` is retried
 * `transientRetries` times after `transientBackoffMs`. Everything is counted.
 */
export function testContext(
  credentials: Record<string, JsonValue> | null,
  options: {
    maxWaitMs?: number;
    transientRetries?: number;
    transientBackoffMs?: number;
    id?: string;
    /** Origins the media fetcher passes as they are (the fake's), as `MEDIA_ALLOW_ORIGINS` does. */
    mediaOrigins?: readonly string[];
  } = {},
): { ctx: PluginContext; log: ContextLog; abort: AbortController } {
  const abort = new AbortController();
  const fetcher = new MediaFetcher({ allowOrigins: options.mediaOrigins ?? [] });
  const log: ContextLog = {
    calls: { messages: 0, contacts: 0, profile: 0, media: 0 },
    rateLimited: [],
    transient: [],
    warnings: [],
  };
  const ctx: PluginContext = {
    instance: {
      id: instanceId(options.id ?? crypto.randomUUID()),
      name: 'test',
      channel: 'discord',
      credentials,
      ownerIdentifier: null,
    },
    signal: abort.signal,
    log: silent,
    fetchMedia: (url, init) => fetcher.fetch(url, { ...init, signal: init.signal ?? abort.signal }),
    async request<T>(kind: RequestKind, fn: () => Promise<T>): Promise<T> {
      let transient = 0;
      for (;;) {
        log.calls[kind]++;
        try {
          return await fn();
        } catch (error) {
          if (error instanceof RateLimitedError) {
            log.rateLimited.push(error);
            await Bun.sleep(Math.min(error.retryAfterMs ?? 1000, options.maxWaitMs ?? 2000));
            continue;
          }
          if (error instanceof TransientError && transient < (options.transientRetries ?? 0)) {
            transient++;
            log.transient.push(error);
            await Bun.sleep(options.transientBackoffMs ?? 20);
            continue;
          }
          throw error;
        }
      }
    },
  };
  return { ctx, log, abort };
}

/** Drains an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
