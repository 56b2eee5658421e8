/**
 * `bun run bench media-range [--connections C] [--seconds S] [--rounds R] [--max-requests N]
 *  [--nginx-workers auto,1] [--api-processes P] [--seed X] [--servers nginx,omni,omni-processes,static]`
 *
 * Range requests over stored media: files written by sync-core's `MediaStorageService` into a
 * temp media root (4 KB … 8 MB, 24 files), served by the API's media route (`GET
 * /api/v2/media/:instanceId/*`: auth, path checks, realpath confinement, one open + fstat, then a
 * plain 200/206 sent by Bun's own server with sendfile — `Bun.serve` routes on the API's port,
 * apps/api `media/native-media-routes.ts`; the rest through the Fastify route) and by
 * nginx (Debian's `nginx-light`, installed for this benchmark if absent; foreground, temp config,
 * sendfile) aliasing the same folder at the same path — once per `--nginx-workers` value, by
 * default twice: `worker_processes auto` (one per core, as nginx is deployed) and `1` (one event
 * loop, like one API process). Both are reported; the target is against the better one. Both get the same seeded request mix, cycled in the same order: 50 % random ranges
 * `bytes=a-b` (up to 1 MB), 20 % suffix ranges `bytes=-n`, 30 % full GETs. Before the load, every
 * distinct request of the first 200 is checked to get the same status and bytes from both.
 *
 * Load: wrk (Debian's package, installed like nginx; autocannon's JavaScript HTTP parser tops out
 * near 10 MB/s on megabyte bodies, far below either server), one thread, 127.0.0.1 only,
 * `--connections` (default 10) for `--seconds` (default 8) or `--max-requests` (default
 * 200,000) per run; nginx and omni alternate for `--rounds` rounds (default 3) after a warm-up
 * of each. Prints one JSON line per run:
 *   {"bench":"media-range","server":"omni"|"nginx","requests","rps","MBps","p99Ms",…}
 * `omni-processes` is the same route served the way a 2-core machine allows: the start command with
 * `API_PROCESSES` = `--api-processes` (default: one per core) HTTP processes on one port (node:cluster,
 * scaled-out mode over the same database and media folder), as nginx `auto` runs a worker per core.
 * `--servers` may add `static`: a bare Fastify app with only @fastify/static on the same folder
 * (no auth, no path checks), which splits omni's gap to nginx into route work and static serving.
 * (`MBps`: bytes read, headers included, MB/s; `p99Ms` from wrk's latency histogram;
 * `serverCpuMsPerMB`: the server's CPU time, user + system, per MB delivered — this process for
 * `omni` and `static`, the process tree for nginx and `omni-processes`; steadier than MBps on a
 * busy machine) and a summary with the medians,
 * `throughputRatioByNginxWorkers` (omni MBps / each nginx's), the same for `omni-processes`, and
 * `throughputRatio` = the better omni's MBps / the better nginx's MBps (target ≥ 0.8), naming which.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaStorageService } from '../packages/sync-core/src/index.ts';
import { type RunningApiProcesses, startApiProcesses } from './lib/api-processes.ts';
import { BENCH_API_KEY, startBenchApi } from './lib/api-server.ts';
import { numberArg, stringArg } from './lib/args.ts';
import { type BareFastify, fastifyStatic, startBareFastify } from './lib/fastify.ts';
import type { HttpLoadResult, LoadRequest } from './lib/http-load.ts';
import { prng } from './lib/message-generator.ts';
import { ensureNginx, type RunningNginx, startNginx } from './lib/nginx.ts';
import { logger, printResult, round } from './lib/report.ts';
import { treeCpuMs } from './lib/tree-cpu.ts';
import { ensureWrk, runWrk } from './lib/wrk-load.ts';

const CONNECTIONS = numberArg('connections', 10);
const SECONDS = numberArg('seconds', 8);
const ROUNDS = numberArg('rounds', 3);
const MAX_REQUESTS = numberArg('max-requests', 200_000);
const NGINX_WORKERS = stringArg('nginx-workers', 'auto,1').split(',') as ('auto' | `${number}`)[];
const SEED = numberArg('seed', 11);
const API_PROCESSES = numberArg('api-processes', (await import('node:os')).cpus().length);
const SERVERS = stringArg('servers', 'nginx,omni,omni-processes')
  .split(',')
  .flatMap((s) => (s === 'nginx' ? NGINX_WORKERS.map((w) => `nginx-${w}`) : [s])) as Server[];
const WARMUP_SECONDS = 2;
const KB = 1024;
const MB = 1024 * KB;
/** Sizes of the stored files; each size four times (distinct content). */
const SIZES = [4 * KB, 64 * KB, 256 * KB, 1 * MB, 3 * MB, 8 * MB];
const COPIES = 4;
const MIX_LENGTH = 4000;
const MAX_RANGE = 1 * MB;
const PREFIX = '/api/v2/media/';

/**
 * `nginx-auto`, `nginx-1`: nginx with that `worker_processes`; `static` is a bare Fastify app with
 * only @fastify/static on the same folder (no auth, no checks).
 */
type Server = `nginx-${string}` | 'omni' | 'omni-processes' | 'static';

const log = logger('media-range');

/** Bytes that sniff as MP4 (an `ftyp` box), then seeded noise. */
function mp4Bytes(size: number, rand: () => number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const v = (rand() * 4294967296) >>> 0;
    bytes[i] = v & 255;
    bytes[i + 1] = (v >>> 8) & 255;
    bytes[i + 2] = (v >>> 16) & 255;
    bytes[i + 3] = v >>> 24;
  }
  bytes.set([0, 0, 0, 0x18], 0);
  bytes.set(new TextEncoder().encode('ftypisom'), 4);
  bytes.set([0, 0, 2, 0], 12);
  bytes.set(new TextEncoder().encode('isomiso2'), 16);
  return bytes;
}

interface StoredFile {
  path: string;
  size: number;
}

/** The seeded mix: random ranges, suffix ranges and full GETs over every file. */
function requestMix(files: StoredFile[], rand: () => number): LoadRequest[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
  return Array.from({ length: MIX_LENGTH }, () => {
    const file = pick(files);
    const path = `${PREFIX}${file.path}`;
    const roll = rand();
    if (roll < 0.5) {
      const length = 1 + Math.floor(rand() * Math.min(MAX_RANGE, file.size));
      const start = Math.floor(rand() * (file.size - length + 1));
      return { path, headers: { range: `bytes=${start}-${start + length - 1}` } };
    }
    if (roll < 0.7) {
      const length = 1 + Math.floor(rand() * Math.min(MAX_RANGE, file.size));
      return { path, headers: { range: `bytes=-${length}` } };
    }
    return { path };
  });
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const found = await ensureNginx(log);
  const wrk = await ensureWrk(log);
  for (const tool of [found, wrk]) {
    if ('reason' in tool) {
      console.error(`[media-range] ${tool.reason}`);
      process.exit(2);
    }
  }
  if (!('path' in found) || !('path' in wrk)) return;
  const mediaDir = mkdtempSync(join(tmpdir(), 'omni-bench-media-'));
  chmodSync(mediaDir, 0o755);
  const api = await startBenchApi({ mediaDir });
  const nginxes: Record<string, RunningNginx> = {};
  let apiProcesses: RunningApiProcesses | null = null;
  let bare: BareFastify | null = null;
  try {
    const { db } = api.db;
    const { id: instanceId } = await db
      .insertInto('instances')
      .values({ name: 'bench-media', channel: 'discord' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const storage = new MediaStorageService(db, { settings: api.deps.settings, fsync: false });
    const rand = prng(SEED);
    const files: StoredFile[] = [];
    const sentAt = Date.UTC(2026, 10, 1);
    for (const size of SIZES) {
      for (let c = 0; c < COPIES; c++) {
        const { id } = await db
          .insertInto('messages')
          .values({
            instance_id: instanceId,
            chat_external_id: 'bench',
            external_id: `m-${size}-${c}`,
            sent_at: new Date(sentAt),
            kind: 'video',
            has_media: true,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        const r = await storage.store({
          instanceId,
          messageId: id,
          sentAt,
          descriptor: { mimeType: 'video/mp4', size },
          bytes: mp4Bytes(size, rand),
        });
        if (r.status !== 'stored') throw new Error(`media not stored: ${r.reason}`);
        files.push({ path: r.relativePath, size: r.size });
      }
    }
    const totalMb = files.reduce((n, f) => n + f.size, 0) / MB;
    log(`${files.length} files (${round(totalMb, 1)} MB) stored under ${mediaDir}`);

    for (const workers of NGINX_WORKERS) {
      const started = await startNginx(found.path, { location: PREFIX, root: mediaDir, workers });
      nginxes[`nginx-${workers}`] = started;
      log(`nginx ${started.version} at ${started.origin} (worker_processes ${workers})`);
    }
    log(`omni at ${api.origin}`);
    if (SERVERS.includes('omni-processes')) {
      apiProcesses = await startApiProcesses({
        databaseUrl: api.db.url as string,
        mediaDir,
        processes: API_PROCESSES,
      });
      log(`omni-processes (${API_PROCESSES} API processes) at ${apiProcesses.origin}`);
    }
    const nginx = Object.values(nginxes)[0] as RunningNginx;
    const mix = requestMix(files, rand);
    const headers = { 'x-api-key': BENCH_API_KEY };

    for (const req of mix.slice(0, 200)) {
      const get = async (origin: string) => {
        const res = await fetch(`${origin}${req.path}`, { headers: { ...headers, ...req.headers } });
        return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
      };
      const [a, b] = [await get(api.origin), await get(nginx.origin)];
      if (a.status !== b.status || a.body.length !== b.body.length || Bun.hash(a.body) !== Bun.hash(b.body)) {
        throw new Error(
          `${req.path} ${JSON.stringify(req.headers ?? {})}: omni ${a.status}/${a.body.length} B, nginx ${b.status}/${b.body.length} B`,
        );
      }
    }
    log('first 200 requests answer identically on both servers');

    const bareStatic = await startBareFastify(async (app) => {
      await app.register(fastifyStatic, { root: mediaDir, prefix: PREFIX });
    });
    bare = bareStatic.app;
    const origins: Record<string, string> = {
      omni: api.origin,
      static: bareStatic.origin,
      ...(apiProcesses ? { 'omni-processes': apiProcesses.origin } : {}),
      ...Object.fromEntries(Object.entries(nginxes).map(([name, n]) => [name, n.origin])),
    };
    /** CPU ms of the server so far: this process for the in-process apps, else its process tree. */
    const pids: Record<string, number> = {
      ...(apiProcesses ? { 'omni-processes': apiProcesses.pid } : {}),
      ...Object.fromEntries(Object.entries(nginxes).map(([name, n]) => [name, n.pid])),
    };
    const serverCpuMs = (server: Server): number => {
      const pid = pids[server];
      if (pid === undefined) {
        const used = process.cpuUsage();
        return (used.user + used.system) / 1000;
      }
      return treeCpuMs(pid) ?? Number.NaN;
    };
    const cpuMsPerMB: Record<string, number[]> = Object.fromEntries(SERVERS.map((s) => [s, []]));
    const run = (server: Server, seconds: number) =>
      runWrk({
        bin: wrk.path,
        origin: origins[server] as string,
        headers,
        requests: mix,
        connections: CONNECTIONS,
        durationSeconds: seconds,
        maxRequests: MAX_REQUESTS,
      });
    for (const server of SERVERS) await run(server, WARMUP_SECONDS);
    const results: Record<string, HttpLoadResult[]> = Object.fromEntries(SERVERS.map((s) => [s, []]));
    for (let r = 1; r <= ROUNDS; r++) {
      for (const server of SERVERS) {
        const cpuBefore = serverCpuMs(server);
        const res = await run(server, SECONDS);
        const cpuPerMB = (serverCpuMs(server) - cpuBefore) / (res.bytes / MB);
        cpuMsPerMB[server]?.push(cpuPerMB);
        if (res.ok !== res.requests || res.errors > 0) {
          throw new Error(`${server}: ${res.requests - res.ok} non-2xx, ${res.errors} errors`);
        }
        results[server]?.push(res);
        printResult({
          bench: 'media-range',
          server,
          round: r,
          connections: CONNECTIONS,
          requests: res.requests,
          rps: res.rps,
          MBps: res.MBps,
          p50Ms: res.p50Ms,
          p99Ms: res.p99Ms,
          serverCpuMsPerMB: round(cpuPerMB, 3),
          seconds: res.seconds,
        });
      }
    }
    const mbps = (s: Server) => round(median((results[s] ?? []).map((x) => x.MBps)), 2);
    const rps = (s: Server) => Math.round(median((results[s] ?? []).map((x) => x.rps)));
    const p99 = (s: Server) => round(median((results[s] ?? []).map((x) => x.p99Ms)), 3);
    const nginxNames = Object.keys(nginxes) as Server[];
    const best = nginxNames.reduce((a, b) => (mbps(b) > mbps(a) ? b : a));
    const omniNames = SERVERS.filter((n) => n === 'omni' || n === 'omni-processes');
    const bestOmni = omniNames.reduce((a, b) => (mbps(b) > mbps(a) ? b : a));
    printResult({
      bench: 'media-range',
      summary: true,
      connections: CONNECTIONS,
      rounds: ROUNDS,
      files: files.length,
      nginx: nginx.version,
      nginxWorkers: NGINX_WORKERS,
      omniMBps: mbps('omni'),
      omniRps: rps('omni'),
      omniP99Ms: p99('omni'),
      ...Object.fromEntries(
        nginxNames.flatMap((n) => [
          [`${n}MBps`, mbps(n)],
          [`${n}Rps`, rps(n)],
          [`${n}P99Ms`, p99(n)],
        ]),
      ),
      ...(apiProcesses
        ? {
            apiProcesses: API_PROCESSES,
            omniProcessesMBps: mbps('omni-processes'),
            omniProcessesRps: rps('omni-processes'),
            omniProcessesP99Ms: p99('omni-processes'),
          }
        : {}),
      throughputRatioByNginxWorkers: Object.fromEntries(
        nginxNames.map((n) => [n.slice('nginx-'.length), round(mbps('omni') / mbps(n), 2)]),
      ),
      ...(apiProcesses
        ? {
            processesRatioByNginxWorkers: Object.fromEntries(
              nginxNames.map((n) => [n.slice('nginx-'.length), round(mbps('omni-processes') / mbps(n), 2)]),
            ),
          }
        : {}),
      betterNginx: best,
      betterOmni: bestOmni,
      ...(SERVERS.includes('static')
        ? { staticMBps: mbps('static'), staticRps: rps('static'), staticP99Ms: p99('static') }
        : {}),
      serverCpuMsPerMB: Object.fromEntries(SERVERS.map((s) => [s, round(median(cpuMsPerMB[s] ?? []), 3)])),
      throughputRatio: round(mbps(bestOmni) / mbps(best), 2),
      target: 'throughputRatio (the better omni / the better nginx) >= 0.8',
      cores: (await import('node:os')).cpus().length,
      loadavg: (await import('node:os')).loadavg().map((x) => round(x, 2)),
    });
  } finally {
    for (const n of Object.values(nginxes)) await n.stop().catch(() => {});
    await apiProcesses?.stop().catch(() => {});
    await bare?.close().catch(() => {});
    await api.close();
    rmSync(mediaDir, { recursive: true, force: true });
  }
}

await main();
