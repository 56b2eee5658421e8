import type { Scenario } from '../lib/scenario.ts';
import { cleanRun, problemsAgainstClean } from '../lib/sync-checks.ts';
import { MESSAGE_COUNTERS } from '../lib/verify.ts';
import { check, sleep, waitFor } from '../lib/wait.ts';
import type { WorkerProcess } from '../lib/worker-process.ts';
import { SyncWorld } from '../lib/world.ts';

/**
 * A worker frozen mid-job (SIGSTOP) past its lease, while a page request of the job is in flight:
 * the other worker process takes the job over and finishes it; then the frozen one is resumed
 * (SIGCONT) with the page it was fetching and is let run, then stopped with SIGTERM. Whatever the
 * stale run tries to write after the takeover must be fenced out: the job ends with the stored set
 * and the message counters of a clean run (`fetched` does not grow, `chatsDone ≤ chatsTotal`), and
 * the resumed worker exits cleanly.
 */
export const staleWorker: Scenario = {
  name: 'stale-worker',
  timeoutMs: () => 120_000,
  async run({ config, cleanup, log }) {
    const total = Math.min(config.sizes.syncMessages, 600);
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: config.natsUrl,
      // A ticket whose worker is frozen goes to the other worker after 3 s, whoever leads.
      ackWaitMs: 3_000,
      fake: {
        data: {
          seed: 61,
          nowMs: Date.now() - 1000,
          guilds: [
            {
              name: 'Stale',
              channels: [
                { name: 'one', messageCount: Math.round(total / 2), historyDays: 10 },
                { name: 'two', messageCount: total - Math.round(total / 2), historyDays: 10 },
              ],
            },
          ],
        },
        // Slow pages: the freeze lands while a page request is in flight.
        latencyMs: 60,
      },
    });
    const workers = new Map<string, WorkerProcess>([
      ['s1', world.startWorker('s1')],
      ['s2', world.startWorker('s2')],
    ]);
    const clean = await cleanRun(world, { type: 'messages', depth: 'all' });
    log(`clean run: ${clean.progress.stored} messages in ${clean.runningMs} ms`);

    const instance = await world.connectedInstance('stale');
    const { jobId } = await world.postSync(instance, { type: 'messages', depth: 'all' });
    const third = Math.ceil(clean.progress.stored / 3);
    const running = await waitFor(
      `job ${jobId} to store ${third}`,
      async () => {
        const job = await world.job(jobId);
        return job.status === 'running' && Number(job.progress.stored ?? 0) >= third ? job : null;
      },
      { timeoutMs: 60_000, everyMs: 10 },
    );
    const victimId = running.lease_owner ?? '';
    const victim = workers.get(victimId);
    check(victim !== undefined, `job ${jobId} is leased by ${victimId}, not one of the workers`);
    victim.proc.kill('SIGSTOP');
    const frozen = await world.job(jobId);
    const frozenAt = Number(frozen.progress.stored ?? 0);
    log(`froze ${victimId} at ${frozenAt}/${clean.progress.stored} stored`);
    let resumed = false;
    cleanup.add(`SIGCONT ${victimId}`, () => {
      if (!resumed) victim.proc.kill('SIGCONT');
    });

    const done = await world.waitFinished(jobId, 60_000);
    const atTakeover = world.progress(done);
    log(`taken over and ${done.status} (attempts ${done.attempts}) while ${victimId} was frozen`);

    // Resume the stale worker with its in-flight page; give it time to try its writes, then stop it.
    victim.proc.kill('SIGCONT');
    resumed = true;
    await sleep(2_000);
    const exit = await Promise.race([victim.kill('SIGTERM'), sleep(10_000).then(() => 'no exit in 10 s')]);
    const job = await world.job(jobId);
    const after = world.progress(job);

    const problems = await problemsAgainstClean(world, instance, job, clean, MESSAGE_COUNTERS);
    if (done.status !== 'completed') problems.push(`ended ${done.status} before the resume`);
    if (done.attempts < 2) problems.push(`attempts ${done.attempts}: the job was not taken over`);
    for (const key of MESSAGE_COUNTERS) {
      if (after[key] !== atTakeover[key])
        problems.push(`${key} ${atTakeover[key]} → ${after[key]} after the stale worker resumed`);
    }
    if (after.chatsDone > after.chatsTotal)
      problems.push(`chatsDone ${after.chatsDone} > chatsTotal ${after.chatsTotal}`);
    if (exit !== 0) problems.push(`resumed worker exit ${exit}`);
    log(
      `after resume: fetched ${after.fetched}, stored ${after.stored}, duplicates ${after.duplicates}, chats ${after.chatsDone}/${after.chatsTotal}; ${problems.length === 0 ? 'exact' : problems.join(', ')}`,
    );
    check(problems.length === 0, problems.join('; '));
    return `frozen at ${frozenAt}/${clean.progress.stored}, taken over (attempts ${done.attempts}), stale writes fenced: exact`;
  },
};
