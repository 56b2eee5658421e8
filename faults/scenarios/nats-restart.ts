import { PrivateNats } from '../lib/private-nats.ts';
import type { Scenario } from '../lib/scenario.ts';
import { problemsAgainstClean, syncToOneThird } from '../lib/sync-checks.ts';
import { check } from '../lib/wait.ts';

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
    const { world, worker, clean, instance, jobId, at } = await syncToOneThird(
      { config, cleanup, log },
      { seed: 31, worker: 'n1', natsUrl: nats.url },
    );
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
