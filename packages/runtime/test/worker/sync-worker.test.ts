import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { SyncJob } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { JobRepository, leaseOf } from '@omni/sync-core';
import { InProcessQueue } from '../../src/queue/in-process/in-process-queue.ts';
import type { ExecutionContext, JobExecutor } from '../../src/worker/job-executor.ts';
import type { JobPlacement } from '../../src/worker/job-placement.ts';
import { Reaper } from '../../src/worker/reaper.ts';
import { SyncWorker } from '../../src/worker/sync-worker.ts';
import { insertInstance, silentLog, until } from '../helpers.ts';

let db: TestDb;
let jobs: JobRepository;

beforeAll(async () => {
  db = await createTestDb('postgres');
  jobs = new JobRepository(db.db);
}, 60_000);
afterAll(async () => {
  await db.close();
}, 60_000);

/** An executor whose runs the test finishes by hand. */
class ManualExecutor implements JobExecutor {
  readonly started: { job: SyncJob; ctx: ExecutionContext; finish: (how: 'complete' | 'return') => void }[] =
    [];

  async execute(job: SyncJob, ctx: ExecutionContext): Promise<void> {
    const how = await new Promise<'complete' | 'return'>((resolve) => {
      this.started.push({ job, ctx, finish: resolve });
      ctx.signal.addEventListener('abort', () => resolve('return'));
    });
    if (ctx.signal.reason === 'cancel') await jobs.markCancelled(job.id, { lease: leaseOf(job) });
    else if (how === 'complete') await jobs.completeJob(job.id, { lease: leaseOf(job) });
  }
}

function setup(options: { leaseMs?: number } = {}) {
  const queue = new InProcessQueue();
  const executor = new ManualExecutor();
  const worker = new SyncWorker(
    { db: db.db, jobs, queue, executor, log: silentLog },
    { concurrency: 4, leaseMs: options.leaseMs ?? 3_000 },
  );
  return { queue, executor, worker };
}

test('claims a dispatched job, runs it, and queues the next job of the instance behind it', async () => {
  const { queue, executor, worker } = setup();
  await worker.start();
  const instanceId = await insertInstance(db.db);
  const first = (await jobs.createJob(instanceId, 'messages', { depth: '7d' })).job;
  const second = (await jobs.createJob(instanceId, 'profile', {})).job;
  await queue.dispatch({ jobId: first.id, instanceId });
  await queue.dispatch({ jobId: second.id, instanceId });
  await until(() => executor.started.length === 1);
  expect(executor.started[0]?.job.id).toBe(first.id);
  expect((await jobs.getJob(first.id)).lease_owner).toBe(worker.id);
  expect((await jobs.getJob(second.id)).status).toBe('pending');
  executor.started[0]?.finish('complete');
  await until(() => executor.started.length === 2);
  expect(executor.started[1]?.job.id).toBe(second.id);
  expect((await jobs.getJob(first.id)).status).toBe('completed');
  executor.started[1]?.finish('complete');
  await until(async () => (await jobs.getJob(second.id)).status === 'completed');
  await worker.stop();
  await queue.close();
});

test('cancel reaches the running job through the lease renewal', async () => {
  const { queue, executor, worker } = setup({ leaseMs: 300 });
  await worker.start();
  const instanceId = await insertInstance(db.db);
  const { job } = await jobs.createJob(instanceId, 'messages', { depth: '30d' });
  await queue.dispatch({ jobId: job.id, instanceId });
  await until(() => executor.started.length === 1);
  await jobs.requestCancel(job.id);
  await until(async () => (await jobs.getJob(job.id)).status === 'cancelled');
  expect(executor.started[0]?.ctx.signal.reason).toBe('cancel');
  await worker.stop();
  await queue.close();
});

test('graceful stop gives the job back (pending, no lease) for another worker', async () => {
  const { queue, executor, worker } = setup();
  await worker.start();
  const instanceId = await insertInstance(db.db);
  const { job } = await jobs.createJob(instanceId, 'messages', { depth: 'all' });
  await queue.dispatch({ jobId: job.id, instanceId });
  await until(() => executor.started.length === 1);
  await worker.stop();
  const row = await jobs.getJob(job.id);
  expect(row.status).toBe('pending');
  expect(row.lease_owner).toBeNull();
  expect(executor.started[0]?.ctx.signal.reason).toBe('shutdown');
  await queue.close();
});

test('the reaper re-dispatches a job whose worker died; another worker finishes it', async () => {
  const instanceId = await insertInstance(db.db);
  const { job } = await jobs.createJob(instanceId, 'messages', { depth: '90d' });
  expect(await jobs.claimJob(job.id, 'dead-worker', 1)).not.toBeNull();
  await until(async () => (await jobs.findExpiredLeases()).some((j) => j.id === job.id));
  const { queue, executor, worker } = setup();
  await worker.start();
  const reaper = new Reaper({ db: db.db, jobs, queue, log: silentLog });
  expect(await reaper.sweep()).toBeGreaterThanOrEqual(1);
  await until(() => executor.started.find((s) => s.job.id === job.id));
  executor.started.find((s) => s.job.id === job.id)?.finish('complete');
  await until(async () => (await jobs.getJob(job.id)).status === 'completed');
  expect((await jobs.getJob(job.id)).attempts).toBe(2);
  await worker.stop();
  await queue.close();
});

test('different instances run side by side, never two jobs of one instance at once', async () => {
  const { queue, executor, worker } = setup();
  await worker.start();
  const instances = [await insertInstance(db.db), await insertInstance(db.db), await insertInstance(db.db)];
  const created: string[] = [];
  for (const instanceId of instances) {
    for (const type of ['messages', 'profile'] as const) {
      const { job } = await jobs.createJob(instanceId, type, {});
      created.push(job.id);
      await queue.dispatch({ jobId: job.id, instanceId });
    }
  }
  await until(() => executor.started.length >= 3);
  const firstWave = executor.started.slice(0, 3).map((s) => s.job.instance_id);
  expect(new Set(firstWave).size).toBe(3);
  let finished = 0;
  while (finished < created.length) {
    const running = executor.started.slice(finished);
    const perInstance = new Map<string, number>();
    for (const r of running)
      perInstance.set(r.job.instance_id, (perInstance.get(r.job.instance_id) ?? 0) + 1);
    expect(Math.max(...perInstance.values())).toBe(1);
    const next = executor.started[finished];
    next?.finish('complete');
    finished += 1;
    await until(async () => (await jobs.getJob(next?.job.id as string)).status === 'completed');
    if (finished < created.length) await until(() => executor.started.length > finished);
  }
  const rows = await db.db.selectFrom('sync_jobs').select('status').where('id', 'in', created).execute();
  expect(rows.every((r) => r.status === 'completed')).toBe(true);
  await worker.stop();
  await queue.close();
});

test('the reaper rings forgotten pending jobs, but not those queued behind a running job', async () => {
  const queue = new InProcessQueue();
  const reaper = new Reaper({ db: db.db, jobs, queue, log: silentLog }, { stalePendingMs: 1 });
  const lonely = await insertInstance(db.db);
  const busy = await insertInstance(db.db);
  const forgotten = (await jobs.createJob(lonely, 'profile', {})).job;
  const running = (await jobs.createJob(busy, 'messages', {})).job;
  await jobs.claimJob(running.id, 'alive-worker', 60_000);
  const waiting = (await jobs.createJob(busy, 'profile', {})).job;
  await until(async () => (await reaper.sweep()) > 0);
  const rung: string[] = [];
  const consumer = await queue.consume(async (d) => {
    rung.push(d.ticket.jobId);
    await d.ack();
  });
  await until(() => rung.length > 0);
  await consumer.stop();
  expect(rung).toContain(forgotten.id);
  expect(rung).not.toContain(waiting.id);
  expect(rung).not.toContain(running.id);
  await queue.close();
});

test('a job its placement refuses is not claimed: the ticket comes back with a growing delay, and is dropped after the last delivery', async () => {
  const queue = new InProcessQueue();
  const executor = new ManualExecutor();
  let allowed = false;
  const asked: { jobId: string; deliveries: number; at: number }[] = [];
  const placement: JobPlacement = { canRun: async () => allowed };
  const worker = new SyncWorker(
    {
      db: db.db,
      jobs,
      log: silentLog,
      executor,
      placement,
      queue: {
        mode: queue.mode,
        dispatch: (t) => queue.dispatch(t),
        ping: () => queue.ping(),
        stats: () => queue.stats(),
        close: () => queue.close(),
        consume: (handler, options) =>
          queue.consume(async (d) => {
            asked.push({ jobId: d.ticket.jobId, deliveries: d.deliveryCount, at: Date.now() });
            await handler(d);
          }, options),
      },
    },
    { leaseMs: 3_000, placementRetryMs: 20, placementRetryMaxMs: 60, placementMaxDeliveries: 5 },
  );
  await worker.start();
  const instanceId = await insertInstance(db.db);
  const { job } = await jobs.createJob(instanceId, 'messages', { depth: '7d' });
  await queue.dispatch({ jobId: job.id, instanceId });
  await until(() => asked.length === 5);
  await Bun.sleep(200);
  expect(asked.map((a) => a.deliveries)).toEqual([1, 2, 3, 4, 5]);
  const gaps = asked.slice(1).map((a, i) => a.at - (asked[i]?.at ?? 0));
  expect(gaps[0]).toBeGreaterThanOrEqual(15);
  expect(gaps[2]).toBeGreaterThanOrEqual(50);
  expect(executor.started).toHaveLength(0);
  expect(await jobs.getJob(job.id)).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null });

  allowed = true;
  await queue.dispatch({ jobId: job.id, instanceId });
  await until(() => executor.started.length === 1);
  expect(executor.started[0]?.job.id).toBe(job.id);
  executor.started[0]?.finish('complete');
  await until(async () => (await jobs.getJob(job.id)).status === 'completed');
  await worker.stop();
  await queue.close();
});
