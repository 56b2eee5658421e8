import { afterAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from '@omni/db/testing';

const main = join(import.meta.dir, '../src/main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'omni-processes-'));
let db: TestDb | null = null;
afterAll(async () => {
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

const children = (pid: number) =>
  spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);

test('API_PROCESSES=2 serves one port from two processes; SIGTERM stops them all', async () => {
  db = await createTestDb('postgres', { migrate: false });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const tag = `procs${process.pid}`;
  const proc = Bun.spawn(['bun', 'run', main], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      NATS_STREAM: tag.toUpperCase(),
      NATS_SUBJECT_PREFIX: `${tag}.jobs`,
      NATS_DURABLE: tag,
      NATS_EVENT_PREFIX: `${tag}.events`,
      NATS_WHATSAPP_PREFIX: `${tag}.wa`,
      API_PROCESSES: '2',
      API_KEY: 'k',
      LOG_LEVEL: 'warn',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  });
  try {
    let ready = 0;
    for (let i = 0; i < 600 && ready < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/api/v2/ready`).catch(() => null);
      if (res?.status === 200) ready += 1;
      else await Bun.sleep(100);
    }
    expect(ready).toBe(20);
    const forked = children(proc.pid);
    expect(forked.length).toBe(2);
    const listed = await fetch(`http://127.0.0.1:${port}/api/v2/instances`, {
      headers: { 'x-api-key': 'k' },
    });
    expect(listed.status).toBe(200);
    proc.kill('SIGTERM');
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    expect(exited).toBe(true);
    for (const pid of forked) expect(spawnSync('kill', ['-0', String(pid)]).status).not.toBe(0);
  } finally {
    proc.kill('SIGKILL');
  }
}, 120_000);

test('API_PROCESSES > 1 without NATS is refused at start (the embedded mode is one process)', async () => {
  const proc = Bun.spawn(['bun', 'run', main], {
    env: { ...process.env, API_PROCESSES: '2', NATS_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'error' },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  expect(await proc.exited).toBe(2);
}, 60_000);
