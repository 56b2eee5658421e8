import { PrivateNats } from '../lib/private-nats.ts';
import type { Scenario } from '../lib/scenario.ts';
import { cleanRun, problemsAgainstClean } from '../lib/sync-checks.ts';
import { check, waitFor } from '../lib/wait.ts';
import { SyncWorld } from '../lib/world.ts';

/**
 * A private nats-server is SIGKILLed while a worker process is in the middle of a sync and started
 * again on the same store a second later. The job must complete with the expected set and the
 * clean run's counters, and the queue must still deliver a new job afterwards.
 */
export const natsRestart: Scenario = {
  name: 'nats-restart',
  timeoutMs: () => 240_000,
  async run({ config, cleanup, log }) {
    const nats = await PrivateNats.start(cleanup);
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: nats.url,
      fake: {
        data: {
          seed: 31,
          nowMs: Date.now() - 1000,
          guilds: [
            {
              name: 'N',
              channels: [{ name: 'long', messageCount: config.sizes.syncMessages, historyDays: 10 }],
            },
          ],
        },
        latencyMs: 10,
      },
    });
    const worker = world.startWorker('n1');
    const clean = await cleanRun(world, { type: 'messages', depth: 'all' });
    log(`clean run: ${clean.progress.stored} messages in ${clean.runningMs} ms`);

    const instance = await world.connectedInstance('restart');
    const { jobId } = await world.postSync(instance, { type: 'messages', depth: 'all' });
    const third = Math.ceil(clean.progress.stored / 3);
    await waitFor(
      `job ${jobId} to store ${third}`,
      async () => Number((await world.job(jobId)).progress.stored ?? 0) >= third,
      {
        timeoutMs: 60_000,
      },
    );
    const at = Number((await world.job(jobId)).progress.stored ?? 0);
    await nats.restart(1000);
    log(`nats-server killed at ${at}/${clean.progress.stored} stored, up again after 1 s`);
    const job = await world.waitFinished(jobId, 120_000);
    const problems = await problemsAgainstClean(world, instance, job, clean);
    check(
      worker.alive,
      `the worker process exited (${worker.proc.exitCode ?? worker.proc.signalCode}); see ${worker.logPath}`,
    );
    check(problems.length === 0, problems.join(', '));

    const next = await world.postSync(await world.connectedInstance('after'), {
      type: 'messages',
      depth: '7d',
    });
    const after = await world.waitFinished(next.jobId, 60_000);
    check(after.status === 'completed', `a job queued after the restart ended ${after.status}`);
    return `killed at ${at}/${clean.progress.stored}, completed exact (attempts ${job.attempts}); a new job after the restart completed`;
  },
};
