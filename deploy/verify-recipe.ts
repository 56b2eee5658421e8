/**
 * Keeps the deploy recipe from rotting without a Docker engine (none runs on CI machines):
 *
 * 1. `docker-compose -f deploy/compose.yaml config -q` with placeholder secrets (the file parses and
 *    every variable it requires is named);
 * 2. the Dockerfile's own steps, outside Docker, in a clean copy of the repository (the files git
 *    tracks, minus `.dockerignore`): every `RUN` in order, with the `ENV` values (paths under
 *    `WORKDIR` mapped into the copy);
 * 3. its `CMD` (the API) and the compose file's worker `command` started from that copy as a fleet on
 *    a fresh Postgres database and private NATS names: the API's `/api/v2/ready` and the worker's
 *    `/ready` must answer 200, then both must exit within 10 s of SIGTERM.
 *
 * Prints one line per check and `N passed, M failed`; exits non-zero when anything failed.
 * `bun deploy/verify-recipe.ts`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Glob, type Subprocess } from 'bun';

const root = join(import.meta.dir, '..');
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
let passed = 0;
let failed = 0;

function report(name: string, ok: boolean, detail = ''): void {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; arg: string }[] {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), arg: rest.join(' ') };
    });
}

/** `ENV a=b c="d e"` → pairs. */
function envPairs(arg: string): [string, string][] {
  const out: [string, string][] = [];
  for (const m of arg.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
    out.push([m[1] as string, m[3] ?? (m[2] as string)]);
  }
  return out;
}

function psql(statement: string): void {
  const run = spawnSync('psql', [adminUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`psql ${statement}: ${run.stderr}`);
}

/** Deletes the run's JetStream stream (nats.js resolved from the workspace package that uses it). */
async function deleteStream(name: string): Promise<void> {
  const from = ['packages/runtime', 'apps/sync-worker'].map((dir) => join(root, dir));
  const resolve = (id: string) => {
    for (const dir of from) {
      try {
        return Bun.resolveSync(id, dir);
      } catch {
        // next
      }
    }
    throw new Error(`cannot resolve ${id}`);
  };
  const { connect } = await import(resolve('@nats-io/transport-node'));
  const { jetstreamManager } = await import(resolve('@nats-io/jetstream'));
  const nc = await connect({ servers: natsUrl });
  await (await jetstreamManager(nc)).streams.delete(name).catch(() => false);
  await nc.close();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitFor(url: string, proc: Subprocess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return -proc.exitCode - 1;
    try {
      last = (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
      if (last === 200) return 200;
    } catch {
      // not listening yet
    }
    await Bun.sleep(250);
  }
  return last;
}

async function stopWithin(proc: Subprocess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null) return false;
  proc.kill('SIGTERM');
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(ms).then(() => false)]);
  if (!exited) proc.kill('SIGKILL');
  return exited;
}

// 1. The compose file.
const compose = spawnSync('docker-compose', ['-f', join(root, 'deploy/compose.yaml'), 'config', '-q'], {
  env: { ...process.env, POSTGRES_PASSWORD: 'x', OMNI_SECRET_KEY: '0'.repeat(64), API_KEY: 'k' },
  encoding: 'utf8',
});
report(
  'docker-compose config -q',
  compose.status === 0,
  compose.error ? `${compose.error.message} (install Debian's docker-compose)` : compose.stderr.trim(),
);

// 2. The Dockerfile's build steps in a clean copy.
const copy = mkdtempSync(join(tmpdir(), 'omni-recipe-'));
const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((pattern) => new Glob(pattern.replace(/^\*\*\//, '**/')));
const tracked = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
  .stdout.split('\0')
  .filter(Boolean);
for (const file of tracked) {
  if (
    ignored.some(
      (g) => g.match(file) || file.split('/').some((_, i, parts) => g.match(parts.slice(0, i + 1).join('/'))),
    )
  )
    continue;
  mkdirSync(dirname(join(copy, file)), { recursive: true });
  cpSync(join(root, file), join(copy, file));
}

const steps = instructions(readFileSync(join(root, 'deploy/Dockerfile'), 'utf8'));
let workdir = '/';
const env: Record<string, string> = {};
const inCopy = (value: string) => (workdir !== '/' ? value.split(workdir).join(copy) : value);
let cmd: string[] = [];
let buildOk = true;
for (const { op, arg } of steps) {
  if (op === 'WORKDIR') workdir = arg;
  else if (op === 'ENV') for (const [k, v] of envPairs(arg)) env[k] = inCopy(v);
  else if (op === 'CMD') cmd = JSON.parse(arg);
  else if (op === 'RUN' && buildOk) {
    const run = spawnSync('sh', ['-c', arg], {
      cwd: copy,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    buildOk = run.status === 0;
    report(`RUN ${arg}`, buildOk, buildOk ? '' : `${run.stdout}${run.stderr}`.trim().slice(-2_000));
  }
}
report('CMD is an exec-form command', cmd.length > 0, JSON.stringify(cmd));

// 3. The API and a worker from that copy, as a fleet.
const workerCmd = /worker:[\s\S]*?command:\s*(\[[^\]]*\])/.exec(
  readFileSync(join(root, 'deploy/compose.yaml'), 'utf8'),
)?.[1];
if (buildOk && cmd.length > 0 && workerCmd) {
  const dbName = `omni_recipe_${process.pid}`;
  psql(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const [apiPort, workerPort] = [await freePort(), await freePort()];
  const suffix = `RECIPE_${process.pid}`;
  const fleetEnv = {
    ...process.env,
    ...env,
    DATABASE_URL: dbUrl.toString(),
    NATS_URL: natsUrl,
    NATS_STREAM: suffix,
    NATS_SUBJECT_PREFIX: `recipe${process.pid}.jobs`,
    NATS_DURABLE: `recipe${process.pid}`,
    NATS_EVENT_PREFIX: `recipe${process.pid}.events`,
    NATS_WHATSAPP_PREFIX: `recipe${process.pid}.wa`,
    OMNI_SECRET_KEY: 'ab'.repeat(32),
    API_KEY: 'recipe-key',
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    WORKER_HEALTH_PORT: String(workerPort),
    LOG_LEVEL: 'warn',
  };
  const api = Bun.spawn(cmd, { cwd: copy, env: fleetEnv, stdout: 'inherit', stderr: 'inherit' });
  const apiReady = await waitFor(`http://127.0.0.1:${apiPort}/api/v2/ready`, api, 60_000);
  report('API from the image steps answers /api/v2/ready', apiReady === 200, `status ${apiReady}`);
  const worker = Bun.spawn(JSON.parse(workerCmd), {
    cwd: copy,
    env: fleetEnv,
    stdout: 'inherit',
    stderr: 'inherit',
  });
  const workerReady = await waitFor(`http://127.0.0.1:${workerPort}/ready`, worker, 60_000);
  report('worker from the image steps answers /ready', workerReady === 200, `status ${workerReady}`);
  report('worker exits within 10 s of SIGTERM', await stopWithin(worker, 10_000));
  report('API exits within 10 s of SIGTERM', await stopWithin(api, 10_000));
  psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await deleteStream(suffix);
} else {
  report(
    'fleet from the image steps',
    false,
    workerCmd ? 'build failed' : 'no worker command in compose.yaml',
  );
}
rmSync(copy, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
