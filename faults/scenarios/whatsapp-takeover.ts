import { join } from 'node:path';
import { PostgresAuthStateStore, SessionLeaseStore } from '../../packages/sync-core/src/index.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { counterDiff, idSetDiff, MESSAGE_COUNTERS } from '../lib/verify.ts';
import { check, waitFor } from '../lib/wait.ts';
import { phoneIds, pushedCount, type WhatsAppPhone } from '../lib/whatsapp-phone.ts';
import type { WorkerProcess } from '../lib/worker-process.ts';
import { type SyncJob, SyncWorld } from '../lib/world.ts';

const WA_WORKER_MAIN = join(import.meta.dir, '../lib/whatsapp-worker-main.ts');

/** What a WhatsApp holder fault does to the process holding the session mid-job. */
export type HolderFault = 'SIGKILL' | 'SIGTERM';

/**
 * A WhatsApp account (the testkit's fake phone) synced by two worker processes over NATS and
 * Postgres, each with the production wiring around the fake socket (`whatsapp-worker-main.ts`).
 * The push after linking brings the last day; the rest of the history only comes through the
 * job's on-demand requests, paced at `sync.whatsapp.messagesPerMinute` so the job takes seconds.
 * A clean run on one account gives the reference; on a second account the session's holder gets
 * `fault` once a seeded number of messages is stored (≥ 100 by the job, ≥ 100 still missing). The other worker takes the session over
 * (SIGKILL: when the lease expires; SIGTERM: handed over at once) and finishes the job: the
 * stored ids must equal the phone's (none missing, none twice), the message counters the clean
 * run's, and the job must have been claimed again.
 */
async function runHolderFault(
  { config, cleanup, prng, log }: ScenarioContext,
  fault: HolderFault,
): Promise<{ summary: string }> {
  const phone: WhatsAppPhone = {
    chats: 3,
    perChat: config.sizes.whatsappPerChat,
    newest: Math.floor(Date.now() / 1000) - 60,
    pushedHours: 24,
  };
  const expected = phoneIds(phone);
  const pushed = pushedCount(phone);
  const world = await SyncWorld.open({
    cleanup,
    natsUrl: config.natsUrl,
    fake: {
      data: { seed: 3, guilds: [{ name: 'G', channels: [{ name: 'c', messageCount: 5, historyDays: 1 }] }] },
    },
    // 50 messages a request, 3 requests a second: the job's on-demand part takes a few seconds.
    settings: { 'sync.whatsapp.messagesPerMinute': 180 },
  });
  const auth = new PostgresAuthStateStore(world.db, world.services.cipher);
  const leases = new SessionLeaseStore(world.db);
  // Linked accounts as a previous run left them: the workers open their sessions at start.
  const account = async (name: string) => {
    const { id } = await world.db
      .insertInto('instances')
      .values({ name, channel: 'whatsapp-baileys', connection_state: 'open' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await auth.write(id, new Map([['creds', '{"registered":true}']]));
    return id;
  };
  const cleanId = await account('wa-clean');
  const faultId = await account('wa-fault');

  const env = {
    FAULTS_WA_PHONE: JSON.stringify(phone),
    FAULTS_WA_LEASE_MS: '1500',
    FAULTS_WA_RENEW_MS: '250',
  };
  const workers = new Map<string, WorkerProcess>();
  for (const id of ['w0', 'w1']) workers.set(id, world.startWorker(id, env, WA_WORKER_MAIN));

  const stored = async (id: string) =>
    Number(
      (
        await world.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('instance_id', '=', id)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const state = async (id: string) =>
    (
      await world.db
        .selectFrom('instances')
        .select('connection_state')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).connection_state;
  // Both sessions open and their push stored before any job: the jobs' counters then do not depend on timing.
  const booting = performance.now();
  const seen = new Set<string>();
  for (const id of [cleanId, faultId])
    await waitFor(
      `the session of ${id} to be open and its push stored`,
      async () => {
        const now = await state(id);
        seen.add(now);
        return now === 'open' && (await stored(id)) === pushed;
      },
      { timeoutMs: 120_000, everyMs: 100 },
    );
  log(
    `both sessions open, ${pushed} pushed messages each stored, ${Math.round(performance.now() - booting)} ms after the workers started (states seen: ${[...seen].join(', ')})`,
  );

  const cleanJob = await world.waitFinished(
    (await world.postSync(cleanId, { type: 'messages', depth: 'all' })).jobId,
    90_000,
  );
  check(cleanJob.status === 'completed', `clean run ended ${cleanJob.status}: ${cleanJob.error_message}`);
  const cleanDiff = idSetDiff(await world.storedIds(cleanId), expected);
  check(cleanDiff === null, `clean run: ${cleanDiff}`);
  const clean = world.progress(cleanJob);
  const cleanMs = (cleanJob.completed_at?.getTime() ?? 0) - (cleanJob.started_at?.getTime() ?? 0);
  log(
    `clean run: ${expected.length} messages (${pushed} pushed, ${clean.stored} by the job) in ${cleanMs} ms`,
  );

  const { jobId } = await world.postSync(faultId, { type: 'messages', depth: 'all' });
  // Some on-demand batches committed, the job not done: the fault lands mid-job, after a seeded
  // number of stored messages between 100 on-demand ones and 100 before the end.
  const target = pushed + 100 + Math.floor(prng.next() * (expected.length - pushed - 200));
  const running = await waitFor(
    `job ${jobId} to commit ${target} messages`,
    async () => {
      const job = await world.job(jobId);
      const n = await stored(faultId);
      return job.status === 'running' && n >= target && n < expected.length ? { job, n } : null;
    },
    { timeoutMs: 60_000, everyMs: 20 },
  );
  const holderId = (await leases.get(faultId))?.owner ?? '';
  const holder = workers.get(holderId);
  check(holder !== undefined, `session ${faultId} held by "${holderId}", not one of the workers`);
  check(
    running.job.lease_owner === holderId,
    `the job ran on ${running.job.lease_owner}, not on the session's holder ${holderId}`,
  );
  const faultAt = performance.now();
  const exit = await holder.kill(fault);
  const exitMs = Math.round(performance.now() - faultAt);
  workers.delete(holderId);
  const otherId = [...workers.keys()][0] ?? '';
  log(
    `${fault} ${holderId} (holder and job owner) at ${running.n}/${expected.length} stored → exit ${exit} after ${exitMs} ms`,
  );
  if (fault === 'SIGTERM') {
    check(exit === 0, `SIGTERM: ${holderId} exited ${exit}, not 0`);
    check(exitMs <= 10_000, `SIGTERM: ${holderId} took ${exitMs} ms to exit (limit 10000)`);
  }

  // The only worker left: the job can finish only there, once it holds the session.
  const job: SyncJob = await world.waitFinished(jobId, 90_000);
  const doneMs = Math.round(performance.now() - faultAt);
  const newHolder = (await leases.get(faultId))?.owner;
  const problems: string[] = [];
  if (job.status !== 'completed') problems.push(`status ${job.status} (${job.error_message})`);
  const setDiff = idSetDiff(await world.storedIds(faultId), expected);
  if (setDiff) problems.push(setDiff);
  problems.push(...counterDiff(world.progress(job), clean, MESSAGE_COUNTERS));
  if (job.attempts < 2) problems.push(`attempts ${job.attempts}: the job was not claimed again`);
  if (newHolder !== otherId) problems.push(`session held by ${newHolder}, not taken over by ${otherId}`);
  log(
    `→ ${job.status} ${doneMs} ms after the ${fault}, attempts ${job.attempts}, session now on ${newHolder}: ${problems.length === 0 ? 'exact' : problems.join(', ')}`,
  );
  check(problems.length === 0, `${fault} of the session holder: ${problems.join(', ')}`);
  return {
    summary: `${fault} of the holder at ${running.n}/${expected.length}: taken over by ${otherId}, ${expected.length} exact, counters = clean run's`,
  };
}

/** SIGKILL of the worker holding the WhatsApp session mid on-demand sync; see {@link runHolderFault}. */
export const whatsappTakeover: Scenario = {
  name: 'whatsapp-takeover',
  timeoutMs: () => 240_000,
  run: async (ctx) => (await runHolderFault(ctx, 'SIGKILL')).summary,
};

/**
 * SIGTERM of the worker holding the WhatsApp session mid on-demand sync: it must exit (code 0)
 * within 10 s and the other worker must complete the job exactly; see {@link runHolderFault}.
 */
export const whatsappHolderSigterm: Scenario = {
  name: 'whatsapp-holder-sigterm',
  timeoutMs: () => 240_000,
  run: async (ctx) => (await runHolderFault(ctx, 'SIGTERM')).summary,
};
