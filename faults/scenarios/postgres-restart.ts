import { PrivatePostgres } from '../lib/private-postgres.ts';
import type { Scenario } from '../lib/scenario.ts';
import { problemsAgainstClean, syncToOneThird } from '../lib/sync-checks.ts';
import { check, ScenarioFailure, sleep, waitFor } from '../lib/wait.ts';

/**
 * A private Postgres cluster (initdb + pg_ctl on its own port) is crashed (`pg_ctl stop -m
 * immediate`) while a worker process is in the middle of a sync, and started again two seconds
 * later. The job must complete with the expected set and the clean run's counters, and the worker
 * process must survive the outage (if it dies, it is restarted as a supervisor would, to see whether
 * the job still completes, and the scenario fails naming the crash).
 */
export const postgresRestart: Scenario = {
  name: 'postgres-restart',
  timeoutMs: () => 240_000,
  async run({ config, cleanup, log }) {
    const pg = await PrivatePostgres.start(cleanup);
    log(`private cluster on 127.0.0.1:${pg.port} (${pg.dataDir})`);
    const { world, worker, clean, instance, jobId, at } = await syncToOneThird(
      { config, cleanup, log },
      { seed: 41, worker: 'p1', databaseUrl: pg.url },
    );
    await pg.stop('immediate');
    await sleep(2000);
    await pg.launch();
    log(`postgres crashed at ${at}/${clean.progress.stored} stored, up again after 2 s`);
    // A supervisor's part (systemd, Kubernetes): a worker process that died is started again, and
    // the death is reported as a failure of the scenario.
    const crashes: string[] = [];
    let current = worker;
    const job = await waitFor(
      `job ${jobId} to finish after the restart`,
      async () => {
        if (!current.alive) {
          const log = await Bun.file(current.logPath)
            .text()
            .catch(() => '');
          const first =
            /^error: .*$/m.exec(log)?.[0] ?? `exit ${current.proc.exitCode ?? current.proc.signalCode}`;
          crashes.push(`worker ${current.id} died on the outage (${first})`);
          current = world.startWorker(`p${crashes.length + 1}`);
        }
        const row = await world.job(jobId).catch(() => null);
        return row && ['completed', 'failed', 'cancelled'].includes(row.status) ? row : null;
      },
      { timeoutMs: 120_000, everyMs: 100 },
    ).catch(async (error: Error) => {
      const row = await world.job(jobId).catch(() => null);
      throw new ScenarioFailure(
        `${[...crashes, error.message].join('; ')}; job ${row?.status} stored ${row?.progress.stored} lease ${row?.lease_owner}`,
      );
    });
    const problems = await problemsAgainstClean(world, instance, job, clean);
    log(
      `job ${job.status} (attempts ${job.attempts}); ${problems.length === 0 ? 'exact set and counters' : problems.join(', ')}`,
    );
    check(
      crashes.length === 0 && problems.length === 0,
      [
        ...crashes,
        ...(crashes.length > 0 ? [`after a supervisor restart the job ended ${job.status}`] : []),
        ...problems,
      ].join('; '),
    );
    return `crashed at ${at}/${clean.progress.stored}, completed exact (attempts ${job.attempts})`;
  },
};
