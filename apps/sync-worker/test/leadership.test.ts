import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { NatsJobQueue } from '@omni/runtime';
import type { Subprocess } from 'bun';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const WORKER_MAIN = join(import.meta.dir, '../src/main.ts');
const tag = randomBytes(4).toString('hex');
const names = { stream: `T_LEAD_${tag}`, subjectPrefix: `t.${tag}.jobs`, durable: `t_lead_${tag}` };
let db: TestDb;
let dir: string;
const procs: Subprocess[] = [];

beforeAll(async () => {
  db = await createTestDb('postgres');
  dir = mkdtempSync(join(tmpdir(), 'omni-leadership-'));
}, 60_000);
afterAll(async () => {
  for (const p of procs) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await p.exited;
  }
  const nc = await connect({ servers: NATS_URL });
  await new NatsJobQueue(nc, names).destroy().catch(() => {});
  await nc.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** The real worker process (`main.ts`), its log (pino, info) in `dir`. */
function startWorker(id: string): { proc: Subprocess; log: () => string } {
  const path = join(dir, `${id}.log`);
  const fd = openSync(path, 'a');
  const proc = Bun.spawn(['bun', 'run', WORKER_MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      NATS_URL,
      NATS_STREAM: names.stream,
      NATS_SUBJECT_PREFIX: names.subjectPrefix,
      NATS_DURABLE: names.durable,
      NATS_EVENT_PREFIX: `t.${tag}.sync`,
      OMNI_SECRET_KEY: randomBytes(32).toString('hex'),
      DATA_DIR: join(dir, id),
      WORKER_ID: id,
      WHATSAPP_ENABLED: 'false',
      LEADER_LEASE_MS: '1500',
      LEADER_RETRY_MS: '200',
      LOG_LEVEL: 'info',
    },
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  procs.push(proc);
  return { proc, log: () => readFileSync(path, 'utf8') };
}

const until = async (check: () => boolean) => {
  while (!check()) await Bun.sleep(50);
};
const leads = (log: string) => log.includes('leadership acquired');

test('a leader frozen with SIGSTOP loses leadership to another process within its lease', async () => {
  const a = startWorker('lead-a');
  await until(() => leads(a.log()));
  const b = startWorker('lead-b');
  await until(() => a.log().includes('worker started') && b.log().includes('worker started'));
  expect(leads(b.log())).toBe(false);
  a.proc.kill('SIGSTOP');
  // Within LEADER_LEASE_MS (plus a retry) the other process runs the scheduler and the reaper.
  await until(() => leads(b.log()));
  a.proc.kill('SIGCONT');
  // Resumed, the old leader sees its lease gone and steps down; it does not take it back.
  await until(() => a.log().includes('leadership lost'));
  const row = await db.db.selectFrom('leader_leases').select('owner').executeTakeFirstOrThrow();
  expect(row.owner).toContain(`:${b.proc.pid}:`);
}, 60_000);
