import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';

const dataDir = mkdtempSync(join(tmpdir(), 'omni-main-'));
let proc: Subprocess<'ignore', 'pipe', 'inherit'> | null = null;

afterAll(async () => {
  if (proc) {
    proc.kill('SIGTERM');
    await proc.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('the start command serves health on the embedded default and generates a 0600 API key', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  delete env.NATS_URL;
  delete env.API_KEY;
  delete env.OMNI_SECRET_KEY;
  proc = Bun.spawn(['bun', 'run', join(import.meta.dir, '../src/main.ts')], {
    env,
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const reader = proc.stdout.getReader();
  let out = '';
  while (!out.includes('API key')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`exited early: ${out}`);
    out += new TextDecoder().decode(value);
  }
  const key = /API key \(generated into (.+)\): (\S+)/.exec(out);
  expect(key).not.toBeNull();
  expect(statSync(join(dataDir, 'api-key')).mode & 0o777).toBe(0o600);
  const health = await fetch(`http://127.0.0.1:${port}/api/v2/health`);
  expect(health.status).toBe(200);
  const document = (await health.json()) as { status: string; checks: Record<string, unknown> };
  expect(document.status).toBe('healthy');
  expect(document.checks.database).toMatchObject({ status: 'ok', engine: 'pglite' });
  expect(document.checks.queue).toMatchObject({ status: 'ok', mode: 'in-process' });
  const denied = await fetch(`http://127.0.0.1:${port}/api/v2/instances`);
  expect(denied.status).toBe(401);
  const listed = await fetch(`http://127.0.0.1:${port}/api/v2/instances`, {
    headers: { 'x-api-key': key?.[2] ?? '' },
  });
  expect(listed.status).toBe(200);
  proc.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  proc = null;
}, 180_000);
