import type { Scenario } from '../lib/scenario.ts';
import { counterDiff, idSetDiff } from '../lib/verify.ts';
import { check, sleep, waitFor } from '../lib/wait.ts';
import type { WorkerProcess } from '../lib/worker-process.ts';
import { type SyncJob, SyncWorld } from '../lib/world.ts';

/**
 * SIGKILL of the worker holding a job at seeded random points of a sync. Two worker processes run;
 * for each kill a fresh sync starts, the lease holder is killed after a delay drawn from the seeded
 * PRNG (5–90 % of the fastest unkilled sync's duration so far, counted from the claim) and a replacement process is started. Whichever worker
 * takes the job over must finish it with exactly the expected messages and the clean run's counters.
 */
/** Time from the claim to the end of a job, ms. */
function runningMs(job: SyncJob): number {
  return (job.completed_at?.getTime() ?? 0) - (job.started_at?.getTime() ?? 0);
}

export const killResume: Scenario = {
  name: 'kill-resume',
  timeoutMs: (c) => 60_000 + c.sizes.kills * 45_000,
  async run({ config, cleanup, prng, log }) {
    const total = config.sizes.killMessages;
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: config.natsUrl,
      fake: {
        data: {
          seed: 21,
          nowMs: Date.now() - 1000,
          guilds: [
            {
              name: 'Kill',
              channels: [
                { name: 'big', messageCount: Math.round(total * 0.7), historyDays: 20 },
                { name: 'small', messageCount: total - Math.round(total * 0.7), historyDays: 20 },
              ],
            },
          ],
        },
        latencyMs: 5,
      },
    });
    const workers = new Map<string, WorkerProcess>();
    let spawned = 0;
    const spawn = () => {
      const id = `w${spawned++}`;
      workers.set(id, world.startWorker(id));
    };
    spawn();
    spawn();

    // The first sync also waits for the workers to boot: a warm-up, then the clean run that is measured.
    await world.waitFinished(
      (await world.postSync(await world.connectedInstance('warm-up'), { type: 'messages', depth: '7d' }))
        .jobId,
      60_000,
    );
    const cleanInstance = await world.connectedInstance('clean');
    const cleanJob = await world.waitFinished(
      (await world.postSync(cleanInstance, { type: 'messages', depth: 'all' })).jobId,
      60_000,
    );
    const cleanMs = runningMs(cleanJob);
    check(cleanJob.status === 'completed', `clean run ended ${cleanJob.status}: ${cleanJob.error_message}`);
    const expectedClean = world.expectedIds(cleanJob);
    const cleanDiff = idSetDiff(await world.storedIds(cleanInstance), expectedClean);
    check(cleanDiff === null, `clean run: ${cleanDiff}`);
    const clean = world.progress(cleanJob);
    log(`clean run: ${clean.stored} messages in ${Math.round(cleanMs)} ms`);
    // Later syncs run faster than the first (warm caches): the kill window follows the fastest sync seen.
    let estimateMs = cleanMs;

    let ok = 0;
    let midJob = 0;
    const failures: string[] = [];
    for (let i = 0; i < config.sizes.kills; i++) {
      const delayMs = Math.round((0.05 + 0.85 * prng.next()) * estimateMs);
      const instance = await world.connectedInstance(`kill-${i}`);
      const { jobId } = await world.postSync(instance, { type: 'messages', depth: 'all' });
      const posted = performance.now();
      await waitFor(`job ${jobId} claimed`, async () => (await world.job(jobId)).status !== 'pending', {
        timeoutMs: 30_000,
      });
      const claimedAfter = Math.round(performance.now() - posted);
      await sleep(delayMs);
      const before = await world.job(jobId);
      const storedAtKill = Number(before.progress.stored ?? 0);
      const victimId =
        before.status === 'running' && before.lease_owner && workers.has(before.lease_owner)
          ? before.lease_owner
          : [...workers.keys()][i % workers.size];
      const victim = victimId ? workers.get(victimId) : undefined;
      if (victim && victimId) {
        await victim.kill('SIGKILL');
        workers.delete(victimId);
      }
      const wasRunning = before.status === 'running';
      if (wasRunning) midJob++;
      spawn();
      const killedAt = performance.now();
      let job: SyncJob;
      try {
        job = await world.waitFinished(jobId, 60_000);
      } catch (error) {
        failures.push(`#${i} (kill at ${delayMs} ms): ${(error as Error).message}`);
        continue;
      }
      if (!wasRunning && job.attempts === 1) estimateMs = Math.min(estimateMs, runningMs(job));
      const problems: string[] = [];
      if (job.status !== 'completed') problems.push(`status ${job.status} (${job.error_message})`);
      const setDiff = idSetDiff(await world.storedIds(instance), world.expectedIds(job));
      if (setDiff) problems.push(setDiff);
      problems.push(...counterDiff(world.progress(job), clean));
      if (wasRunning && storedAtKill < clean.stored && job.attempts < 2)
        problems.push(`killed mid-job but attempts=${job.attempts}`);
      if (problems.length > 0) failures.push(`#${i} (kill at ${delayMs} ms): ${problems.join(', ')}`);
      else ok++;
      const doneAfter = Math.round(performance.now() - killedAt);
      log(
        `#${i}: claimed after ${claimedAfter} ms, kill ${victimId ?? '-'} at ${delayMs} ms (${before.status}, ${storedAtKill}/${clean.stored} stored) → ${job.status} ${doneAfter} ms later, attempts ${job.attempts}, ${problems.length === 0 ? 'exact' : problems.join(', ')}`,
      );
    }
    log(`kill-resume: ${ok}/${config.sizes.kills} (seed ${config.seed}; ${midJob} kills hit a running job)`);
    check(failures.length === 0, `kill-resume: ${ok}/${config.sizes.kills}: ${failures.join(' | ')}`);
    return `kill-resume: ${ok}/${config.sizes.kills}, ${midJob} mid-job, ${clean.stored} messages each`;
  },
};
