/**
 * A bounded load run with wrk (C, epoll; Debian's `wrk`, installed for benchmarks only): for
 * bodies of megabytes, where autocannon's JavaScript parser — not the server — would be the
 * limit. A generated Lua script cycles through a request mix and prints its figures as JSON.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DebianTool, ensureTool } from './debian-package.ts';
import type { HttpLoadResult, LoadRequest } from './http-load.ts';

/** wrk from Debian's `wrk`. */
export const WRK_TOOL: DebianTool = { bin: 'wrk', pkg: 'wrk', paths: ['/usr/bin/wrk'] };

/** Finds or installs wrk (see `ensureTool`). */
export function ensureWrk(log: (...parts: unknown[]) => void): ReturnType<typeof ensureTool> {
  return ensureTool(WRK_TOOL, log);
}

/** Options of {@link runWrk}. */
export interface WrkOptions {
  /** wrk binary. */
  bin: string;
  /** `http://127.0.0.1:PORT`; nothing else is accepted. */
  origin: string;
  /** Requests cycled in order by every connection's thread. */
  requests: LoadRequest[];
  /** Headers added to every request. */
  headers?: Record<string, string>;
  /** @defaultValue 10 */
  connections?: number;
  /** wrk threads. @defaultValue 1 */
  threads?: number;
  /** Time bound, s. @defaultValue 10 */
  durationSeconds?: number;
  /** Count bound: each thread stops after sending `maxRequests / threads`. @defaultValue 1_000_000 */
  maxRequests?: number;
}

const lua = (s: string) => JSON.stringify(s);

function script(requests: LoadRequest[], headers: Record<string, string>, perThread: number): string {
  const rows = requests.map((r) => {
    const h = Object.entries({ ...headers, ...r.headers })
      .map(([k, v]) => `[${lua(k)}]=${lua(v)}`)
      .join(',');
    return `  {${lua(r.path)}, {${h}}},`;
  });
  return `local mix = {
${rows.join('\n')}
}
local reqs = {}
local i = 0
local sent = 0
local max = ${perThread}
function init(args)
  for k, r in ipairs(mix) do reqs[k] = wrk.format("GET", r[1], r[2]) end
end
function request()
  i = (i % #reqs) + 1
  sent = sent + 1
  if sent > max then wrk.thread:stop() end
  return reqs[i]
end
function done(s, latency, requests)
  io.write(string.format('\\n{"requests":%d,"bytes":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%f}\\n',
    s.requests, s.bytes, s.duration, s.errors.connect, s.errors.read, s.errors.write, s.errors.status, s.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;
}

/** Runs wrk once; rejects when it fails or overruns its time bound by a minute. */
export async function runWrk(options: WrkOptions): Promise<HttpLoadResult> {
  const url = new URL(options.origin);
  if (url.hostname !== '127.0.0.1') throw new Error(`load runs only against 127.0.0.1, not ${url.hostname}`);
  const threads = options.threads ?? 1;
  const duration = options.durationSeconds ?? 10;
  const dir = mkdtempSync(join(tmpdir(), 'omni-bench-wrk-'));
  const file = join(dir, 'mix.lua');
  const perThread = Math.ceil((options.maxRequests ?? 1_000_000) / threads);
  writeFileSync(file, script(options.requests, options.headers ?? {}, perThread));
  try {
    const proc = Bun.spawn(
      [
        options.bin,
        `-t${threads}`,
        `-c${options.connections ?? 10}`,
        `-d${duration}s`,
        '--timeout',
        '10s',
        '-s',
        file,
        url.origin,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const killer = setTimeout(() => proc.kill(), (duration + 60) * 1000);
    const [out, err] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text()];
    const code = await proc.exited;
    clearTimeout(killer);
    const line = out.split('\n').findLast((l) => l.startsWith('{"requests"'));
    if (code !== 0 || !line) throw new Error(`wrk exited with ${code}: ${err || out}`);
    const w = JSON.parse(line) as Record<string, number>;
    const n = (k: string) => w[k] ?? 0;
    const seconds = n('durationUs') / 1e6;
    const ms = (k: string) => Math.round(n(k)) / 1000;
    const errors = n('connect') + n('read') + n('write');
    return {
      requests: n('requests'),
      ok: n('requests') - n('status'),
      non2xx: n('status'),
      errors,
      timeouts: n('timeout'),
      seconds: Math.round(seconds * 1000) / 1000,
      rps: Math.round(n('requests') / seconds),
      bytes: n('bytes'),
      MBps: Math.round((n('bytes') / 1048576 / seconds) * 100) / 100,
      p50Ms: ms('p50Us'),
      p90Ms: ms('p90Us'),
      p99Ms: ms('p99Us'),
      maxMs: ms('maxUs'),
      meanMs: ms('meanUs'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
