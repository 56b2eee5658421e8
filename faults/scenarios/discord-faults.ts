import type { FakeFault } from '../../packages/testkit/src/discord/index.ts';
import type { Scenario } from '../lib/scenario.ts';
import { cleanRun, problemsAgainstClean } from '../lib/sync-checks.ts';
import { check } from '../lib/wait.ts';
import { SyncWorld } from '../lib/world.ts';

const MESSAGES = /\/messages$/;

/**
 * The fake Discord misbehaves on the history route while a worker (in this process, so the plugin's
 * Cloudflare cooldown and request timeout can be scaled down) syncs over NATS into Postgres: a storm
 * of JSON 429s, 429s without headers, Cloudflare's HTML 429, 500s, 502s, answers slower than the
 * request timeout, slow answers within it, and JSON cut in half. Every page must be stored, the
 * counters must equal a clean run's, and every 429 must show in `rateLimitWaits`.
 */
export const discordFaults: Scenario = {
  name: 'discord-faults',
  timeoutMs: () => 300_000,
  async run({ config, cleanup, prng, log }) {
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: config.natsUrl,
      fake: {
        data: {
          seed: 51,
          nowMs: Date.now() - 1000,
          guilds: [
            {
              name: 'F',
              channels: [
                { name: 'one', messageCount: Math.round(config.sizes.syncMessages / 2), historyDays: 10 },
                { name: 'two', messageCount: Math.round(config.sizes.syncMessages / 2), historyDays: 10 },
              ],
            },
          ],
        },
        latencyMs: 5,
      },
      plugin: { cloudflareProbeMs: 500, requestTimeoutMs: 1000, unknownRetryAfterMs: 300 },
    });
    await world.startInProcessWorker();
    const clean = await cleanRun(world, { type: 'messages', depth: 'all' });
    const cleanRequests = [...world.fake.stats.byRoute]
      .filter(([route]) => route.endsWith('/messages'))
      .reduce((n, [, c]) => n + c, 0);
    log(
      `clean run: ${clean.progress.stored} messages, ${cleanRequests} history requests, ${clean.runningMs} ms`,
    );

    world.fake.stats.reset();
    const pages = Math.max(8, cleanRequests);
    const at = () => prng.int(1, pages - 1);
    const faults: FakeFault[] = [
      { kind: '429-json', afterRequest: at(), count: 12, retryAfterSeconds: 0.05 },
      { kind: '429-bare-json', afterRequest: at(), count: 2, retryAfterSeconds: 0.05 },
      { kind: '429-html', afterRequest: at(), count: 2 },
      { kind: '500', afterRequest: at(), count: 1 },
      { kind: '500', afterRequest: at(), count: 1 },
      { kind: '502', afterRequest: at(), count: 1 },
      { kind: 'slow', afterRequest: at(), count: 1, delayMs: 2500 },
      { kind: 'slow', afterRequest: at(), count: 2, delayMs: 300 },
      { kind: 'truncated', afterRequest: at(), count: 1 },
      { kind: 'truncated', afterRequest: at(), count: 1 },
    ];
    for (const fault of faults) world.fake.inject({ ...fault, route: MESSAGES });
    log(`faults: ${faults.map((f) => `${f.kind}×${f.count}@${f.afterRequest}`).join(' ')}`);

    const instance = await world.connectedInstance('faulty');
    const { jobId } = await world.postSync(instance, { type: 'messages', depth: 'all' });
    const job = await world.waitFinished(jobId, 240_000);
    const progress = world.progress(job);
    const hits = world.fake.faults.hits;
    const injected429 = faults.reduce((n, f, i) => n + (f.kind.startsWith('429') ? (hits[i] ?? 0) : 0), 0);
    const problems = await problemsAgainstClean(world, instance, job, clean);
    const unhit = faults.filter((_, i) => (hits[i] ?? 0) < 1).map((f) => f.kind);
    if (unhit.length > 0) problems.push(`faults never triggered: ${unhit.join(', ')}`);
    if (world.fake.stats.status429 !== injected429 + world.fake.stats.limit429)
      problems.push(
        `429s sent ${world.fake.stats.status429} ≠ injected ${injected429} + limit ${world.fake.stats.limit429}`,
      );
    if (progress.rateLimitWaits < injected429)
      problems.push(
        `rateLimitWaits ${progress.rateLimitWaits} < 429s answered ${injected429 + world.fake.stats.limit429}`,
      );
    log(
      `job ${job.status}: ${progress.stored} stored, ${progress.rateLimitWaits} rate-limit waits (${progress.rateLimitWaitMs} ms), 429s answered ${world.fake.stats.status429}, fault hits ${hits.join('/')}`,
    );
    check(problems.length === 0, problems.join(', '));
    return `${faults.length} fault kinds hit, ${injected429} injected 429s → ${progress.rateLimitWaits} waits counted, exact set and counters`;
  },
};
