/**
 * A bounded HTTP load run with autocannon, in a child process so the load generator does not
 * share the server's event loop. Latencies are taken per response (sub-millisecond, from
 * autocannon's `response` events) rather than from its whole-millisecond histogram.
 *
 * @example
 * ```ts
 * const r = await runHttpLoad({ url: 'http://127.0.0.1:8881/api/v2/health', connections: 10, durationSeconds: 5 });
 * console.log(r.rps, r.p99Ms);
 * ```
 */
import { join } from 'node:path';
import { type LatencySummary, summarizeLatencies } from './percentiles.ts';

/** One request of a mix (path relative to `url`'s origin). */
export interface LoadRequest {
  path: string;
  headers?: Record<string, string>;
}

/** Options of {@link runHttpLoad}. */
export interface HttpLoadOptions {
  /** Target; must be on 127.0.0.1. */
  url: string;
  /** Concurrent keep-alive connections. @defaultValue 10 */
  connections?: number;
  /** Wall-clock bound, s. @defaultValue 10 */
  durationSeconds?: number;
  /** Count bound: the run stops after this many responses. @defaultValue 1_000_000 */
  maxRequests?: number;
  /** Headers of every request. */
  headers?: Record<string, string>;
  /** Requests to cycle through, in order (defaults to `GET url`). */
  requests?: LoadRequest[];
  /** Per-request timeout, s. @defaultValue 10 */
  timeoutSeconds?: number;
}

/** Defaults of {@link HttpLoadOptions}. */
export const DEFAULT_HTTP_LOAD_OPTIONS = {
  connections: 10,
  durationSeconds: 10,
  maxRequests: 1_000_000,
  headers: {},
  requests: [],
  timeoutSeconds: 10,
} satisfies Required<Omit<HttpLoadOptions, 'url'>>;

/** What a load run measured. */
export interface HttpLoadResult extends LatencySummary {
  /** Responses received. */
  requests: number;
  /** Responses with a 2xx status. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Responses per second. */
  rps: number;
  /** Bytes read (headers and bodies). */
  bytes: number;
  /** Bytes read per second, MB (2^20). */
  MBps: number;
}

/** Runs the load in a child process; rejects if the child fails or overruns its time bound. */
export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const o = { ...DEFAULT_HTTP_LOAD_OPTIONS, ...options };
  const host = new URL(o.url).hostname;
  if (host !== '127.0.0.1') throw new Error(`load runs only against 127.0.0.1, not ${host}`);
  const child = Bun.spawn(['bun', join(import.meta.dir, 'http-load.ts'), '--child'], {
    stdio: [new Blob([JSON.stringify(o)]), 'pipe', 'inherit'],
  });
  const killer = setTimeout(() => child.kill(), (o.durationSeconds + 60) * 1000);
  const out = await new Response(child.stdout).text();
  const code = await child.exited;
  clearTimeout(killer);
  if (code !== 0) throw new Error(`load child exited with ${code}: ${out.slice(0, 500)}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as HttpLoadResult;
}

async function runChild(): Promise<void> {
  const { default: autocannon } = await import('autocannon');
  const o = JSON.parse(await Bun.stdin.text()) as Required<HttpLoadOptions>;
  const latencies = new Float64Array(o.maxRequests);
  let n = 0;
  let next = 0;
  const mix = o.requests;
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.durationSeconds,
    timeout: o.timeoutSeconds,
    headers: o.headers,
    ...(mix.length > 0
      ? {
          requests: [
            {
              setupRequest: (req) => {
                const r = mix[next++ % mix.length] as LoadRequest;
                return { ...req, path: r.path, headers: { ...o.headers, ...r.headers } };
              },
            },
          ],
        }
      : {}),
  });
  let ok = 0;
  let total = 0;
  // Responses already in flight when the count bound stops the run still arrive: they are
  // counted (requests, ok) but only the first `maxRequests` latencies are kept.
  instance.on('response', (_client, status, _bytes, ms) => {
    total++;
    if (n < latencies.length) latencies[n++] = ms;
    if (status >= 200 && status < 300) ok++;
    if (n >= o.maxRequests) instance.stop();
  });
  const started = performance.now();
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  const bytes = result.throughput.total;
  const out: HttpLoadResult = {
    requests: total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: Math.round(seconds * 1000) / 1000,
    rps: Math.round(total / seconds),
    bytes,
    MBps: Math.round((bytes / 1048576 / seconds) * 100) / 100,
    ...summarizeLatencies(latencies.subarray(0, n)),
  };
  console.log(JSON.stringify(out));
}

if (import.meta.main && process.argv.includes('--child')) await runChild();
