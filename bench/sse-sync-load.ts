/**
 * `bun run bench sse-sync-load [--streams 2000] [--syncs 1000]`
 *
 * Against one instance of the real app (listening on 127.0.0.1, real Postgres, in-process bus):
 * `--streams` job event streams (SSE) and `--syncs` sync requests differing only in `channelId`,
 * sent in waves of 200. Checks that every request is answered — 200/202 up to the caps (50 streams
 * per instance, 20 pending jobs), 429 with `Retry-After` past them, no 5xx, no failed connection —
 * that the pending jobs in the database are exactly the accepted ones, and that every open stream
 * receives the job's terminal event (one bus subscription fans out to all). Measures the process
 * CPU during the burst and while the accepted streams are held open for 10 s.
 * Prints one JSON line.
 */
import { createDiscordPlugin } from '../packages/channel-discord/src/index.ts';
import { BENCH_API_KEY, startBenchApi } from './lib/api-server.ts';
import { numberArg } from './lib/args.ts';
import { logger, printResult, round } from './lib/report.ts';

const log = logger('sse-sync-load');
const streams = numberArg('streams', 2000);
const syncs = numberArg('syncs', 1000);
const WAVE = 200;
const HOLD_MS = 10_000;
const headers = { 'x-api-key': BENCH_API_KEY, 'content-type': 'application/json' };

const api = await startBenchApi();
api.deps.plugins.register(createDiscordPlugin({ api: 'http://127.0.0.1:9' }));
const cpuPercent = (from: NodeJS.CpuUsage, ms: number) => {
  const used = process.cpuUsage(from);
  return round(((used.user + used.system) / 1000 / ms) * 100, 1);
};

try {
  const created = (await (
    await fetch(`${api.origin}/api/v2/instances`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'load', channel: 'discord' }),
    })
  ).json()) as { data: { id: string } };
  const instance = created.data.id;
  await api.db.db
    .updateTable('instances')
    .set({ connection_state: 'open', credentials: api.deps.cipher.encryptJson({ token: 'x' }, instance) })
    .where('id', '=', instance)
    .execute();
  const first = (await (
    await fetch(`${api.origin}/api/v2/instances/${instance}/sync`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ type: 'contacts' }),
    })
  ).json()) as { data: { jobId: string } };
  const job = first.data.jobId;

  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const problems: string[] = [];
  const open: { done: Promise<string>; abort: () => void }[] = [];

  const burstStart = performance.now();
  const burstCpu = process.cpuUsage();
  for (let sent = 0; sent < streams; sent += WAVE) {
    await Promise.all(
      Array.from({ length: Math.min(WAVE, streams - sent) }, async () => {
        const controller = new AbortController();
        try {
          const res = await fetch(`${api.origin}/api/v2/instances/${instance}/sync/${job}/events`, {
            headers,
            signal: controller.signal,
          });
          count(`sse ${res.status}`);
          if (res.status === 200) {
            open.push({ done: res.text(), abort: () => controller.abort() });
          } else {
            if (res.status !== 429 || !res.headers.get('retry-after')) problems.push(`sse ${res.status}`);
            await res.text();
          }
        } catch (error) {
          count('sse failed');
          problems.push(`sse: ${(error as Error).message}`);
        }
      }),
    );
  }
  const accepted = new Set<string>();
  for (let sent = 0; sent < syncs; sent += WAVE) {
    await Promise.all(
      Array.from({ length: Math.min(WAVE, syncs - sent) }, async (_, i) => {
        const channelId = String(1_000_000_000_000_000_000n + BigInt(sent + i));
        try {
          const res = await fetch(`${api.origin}/api/v2/instances/${instance}/sync`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ type: 'messages', channelId }),
          });
          count(`sync ${res.status}`);
          const body = (await res.json()) as { data?: { jobId: string }; error?: { message: string } };
          if (res.status === 202 && body.data) accepted.add(body.data.jobId);
          else if (res.status !== 429 || !res.headers.get('retry-after')) problems.push(`sync ${res.status}`);
        } catch (error) {
          count('sync failed');
          problems.push(`sync: ${(error as Error).message}`);
        }
      }),
    );
  }
  const burstMs = performance.now() - burstStart;
  const burstCpuPct = cpuPercent(burstCpu, burstMs);

  const holdCpu = process.cpuUsage();
  await Bun.sleep(HOLD_MS);
  const holdCpuPct = cpuPercent(holdCpu, HOLD_MS);
  const busSubscriptions = api.app.jobEvents.followedJobs;

  // Nothing lost: the pending jobs are exactly the accepted ones, every stream gets the end.
  const pending = await api.db.db
    .selectFrom('sync_jobs')
    .select('id')
    .where('instance_id', '=', instance)
    .where('status', '=', 'pending')
    .execute();
  const pendingIds = new Set(pending.map((r) => r.id));
  const acceptedPending = [...accepted].every((id) => pendingIds.has(id));
  await api.deps.events.publish({
    type: 'sync.completed',
    instanceId: instance,
    jobId: job,
    at: new Date().toISOString(),
    status: 'completed',
  });
  const bodies = await Promise.all(open.map((s) => s.done));
  const streamsEnded = bodies.filter((b) => b.includes('event: sync.completed')).length;
  const ok =
    problems.length === 0 &&
    acceptedPending &&
    pendingIds.size === accepted.size + 1 &&
    streamsEnded === open.length &&
    open.length === 50 &&
    busSubscriptions === 1;
  if (!ok) log('problems', problems.slice(0, 5), { acceptedPending, pending: pendingIds.size, streamsEnded });
  printResult({
    bench: 'sse-sync-load',
    ok,
    streams,
    syncs,
    statuses: Object.fromEntries([...statuses].sort()),
    openStreams: open.length,
    streamsEndedWithTerminalEvent: streamsEnded,
    busSubscriptionsWhileHeld: busSubscriptions,
    pendingJobs: pendingIds.size,
    acceptedSyncs: accepted.size,
    burstMs: round(burstMs, 0),
    burstCpuPct,
    holdOpenStreamsCpuPct: holdCpuPct,
    problems: problems.length,
  });
  if (!ok) process.exitCode = 1;
} finally {
  await api.close();
}
