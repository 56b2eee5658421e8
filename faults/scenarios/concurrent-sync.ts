import type { Scenario } from '../lib/scenario.ts';
import { idSetDiff } from '../lib/verify.ts';
import { check, sleep } from '../lib/wait.ts';
import { type SyncJob, SyncWorld } from '../lib/world.ts';

/** Samples `sync_jobs` until stopped: the most jobs seen running at once per instance. */
class RunningSampler {
  maxRunning = 0;
  samples = 0;
  readonly violations: string[] = [];
  #stop = false;
  #done: Promise<void>;

  constructor(world: SyncWorld, instanceIds: () => string[], everyMs = 15) {
    this.#done = (async () => {
      while (!this.#stop) {
        const ids = instanceIds();
        if (ids.length > 0) {
          const rows = await world.db
            .selectFrom('sync_jobs')
            .select(['instance_id', 'id', 'lease_owner'])
            .where('status', '=', 'running')
            .where('instance_id', 'in', ids)
            .execute();
          const per = new Map<string, string[]>();
          for (const r of rows)
            per.set(r.instance_id, [...(per.get(r.instance_id) ?? []), `${r.id}@${r.lease_owner}`]);
          for (const [instance, jobs] of per) {
            this.maxRunning = Math.max(this.maxRunning, jobs.length);
            if (jobs.length > 1)
              this.violations.push(`instance ${instance}: ${jobs.join(', ')} running together`);
          }
          this.samples++;
        }
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** Overlapping [started_at, completed_at] intervals among one instance's jobs (a check independent of sampling). */
function overlaps(jobs: SyncJob[]): string[] {
  const sorted = jobs
    .filter((j) => j.started_at && j.completed_at)
    .sort((a, b) => (a.started_at as Date).getTime() - (b.started_at as Date).getTime());
  const out: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as SyncJob;
    const cur = sorted[i] as SyncJob;
    if (
      (cur.started_at as Date).getTime() < (prev.completed_at as Date).getTime() &&
      cur.attempts === 1 &&
      prev.attempts === 1
    )
      out.push(`${prev.id} and ${cur.id} overlap`);
  }
  return out;
}

/**
 * Two sync requests for one instance at once, with two worker processes racing for tickets:
 * identical concurrent POSTs must return one job; different concurrent POSTs queue behind each
 * other; the same jobs dispatched twice (duplicate tickets to both workers) must still run one at
 * a time. `sync_jobs` is sampled every 15 ms: never two running jobs for an instance.
 */
export const concurrentSync: Scenario = {
  name: 'concurrent-sync',
  timeoutMs: (c) => 60_000 + c.sizes.raceRounds * 60_000,
  async run({ config, cleanup, log }) {
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: config.natsUrl,
      fake: {
        data: {
          seed: 71,
          nowMs: Date.now() - 1000,
          guilds: [
            {
              name: 'C',
              channels: [
                { name: 'a', messageCount: Math.round(config.sizes.syncMessages / 2), historyDays: 40 },
                { name: 'b', messageCount: Math.round(config.sizes.syncMessages / 2), historyDays: 40 },
              ],
            },
          ],
        },
        latencyMs: 10,
      },
    });
    world.startWorker('c1');
    world.startWorker('c2');
    const instances: string[] = [];
    const sampler = new RunningSampler(world, () => instances);
    cleanup.add('sampler', () => sampler.stop());
    const problems: string[] = [];
    let identical = 0;
    let queued = 0;
    for (let round = 0; round < config.sizes.raceRounds; round++) {
      const instance = await world.connectedInstance(`race-${round}`);
      instances.push(instance);
      const same = await Promise.all(
        Array.from({ length: 6 }, () => world.postSync(instance, { type: 'messages', depth: 'all' })),
      );
      const sameIds = new Set(same.map((r) => r.jobId));
      if (sameIds.size !== 1) problems.push(`round ${round}: 6 identical POSTs made ${sameIds.size} jobs`);
      identical += 6;
      const different = await Promise.all(
        (['7d', '30d', '90d'] as const).map((depth) => world.postSync(instance, { type: 'messages', depth })),
      );
      queued += different.length;
      const { job: raced } = await world.services.jobs.createJob(instance, 'messages', { depth: '1y' });
      for (let k = 0; k < 3; k++)
        await world.services.queue.dispatch({ jobId: raced.id, instanceId: instance });
      const jobIds = [...sameIds, ...different.map((d) => d.jobId), raced.id];
      const finished = await Promise.all(jobIds.map((id) => world.waitFinished(id, 120_000)));
      for (const job of finished)
        if (job.status !== 'completed')
          problems.push(`round ${round}: job ${job.id} ended ${job.status} (${job.error_message})`);
      const all = await world.db
        .selectFrom('sync_jobs')
        .selectAll()
        .where('instance_id', '=', instance)
        .execute();
      problems.push(...overlaps(all).map((o) => `round ${round}: ${o}`));
      const widest = finished.find((j) => j.id === [...sameIds][0]) as SyncJob;
      const diff = idSetDiff(await world.storedIds(instance), world.expectedIds(widest));
      if (diff) problems.push(`round ${round}: ${diff}`);
    }
    await sampler.stop();
    problems.push(...sampler.violations.slice(0, 5));
    log(
      `${config.sizes.raceRounds} rounds: ${identical} identical POSTs, ${queued} different POSTs, ${config.sizes.raceRounds} jobs with duplicate tickets; ${sampler.samples} samples, max running per instance ${sampler.maxRunning}`,
    );
    check(sampler.maxRunning >= 1, 'the sampler never saw a running job: the check would be vacuous');
    check(problems.length === 0, problems.join(' | '));
    return `${sampler.samples} samples of sync_jobs, never 2 running per instance; identical POSTs → 1 job; all ${config.sizes.raceRounds * 5} jobs completed, exact set`;
  },
};
