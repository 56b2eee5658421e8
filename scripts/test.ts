/**
 * The project's one test command: typecheck, Biome, the deploy recipe check, `bun test` in every workspace that has tests,
 * then the trimmed fault suite (`--no-faults` leaves it out). Prints a line per step and ends with `N passed, M failed` summed over every test run;
 * exits non-zero when anything failed. Typecheck and lint count as one test each.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '..');
const noFaults = process.argv.includes('--no-faults');
const only = process.argv.slice(2).filter((a) => a !== '--no-faults');
let passed = 0;
let failed = 0;

async function run(
  cmd: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(cmd, {
    cwd,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: '0', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let out = '';
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      out += text;
      sink.write(text);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  return { code: await proc.exited, out };
}

function hasTests(dir: string): boolean {
  const walk = (d: string): boolean =>
    readdirSync(d).some((name) => {
      if (name === 'node_modules') return false;
      const p = join(d, name);
      return statSync(p).isDirectory() ? walk(p) : /\.test\.tsx?$/.test(name);
    });
  return ['src', 'test'].some((sub) => existsSync(join(dir, sub)) && walk(join(dir, sub)));
}

async function check(name: string, cmd: string[]): Promise<void> {
  console.log(`\n=== ${name}: ${cmd.join(' ')}`);
  const { code } = await run(cmd, root);
  if (code === 0) passed += 1;
  else failed += 1;
  console.log(`=== ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`}`);
}

/**
 * Debian packages some checks drive (not npm ones): installed with apt-get when missing and this
 * runs as root, as on a fresh CI machine; otherwise the check that needs one fails and says so.
 */
function ensureDebianPackages(packages: { command: string; pkg: string }[]): void {
  const missing = packages.filter(({ command }) => Bun.which(command) === null).map(({ pkg }) => pkg);
  if (missing.length === 0 || Bun.which('apt-get') === null || process.getuid?.() !== 0) return;
  console.log(`=== installing Debian packages: ${missing.join(' ')}`);
  const install = () => Bun.spawnSync(['apt-get', 'install', '-y', '-q', ...missing], { stdout: 'ignore' });
  if (install().exitCode !== 0) {
    Bun.spawnSync(['apt-get', 'update', '-q'], { stdout: 'ignore' });
    install();
  }
}

if (only.length === 0) {
  ensureDebianPackages([{ command: 'docker-compose', pkg: 'docker-compose' }]);
  // Every workspace, then the benchmarks and the fault suite (not workspaces, so turbo does not see them).
  await check('typecheck', [
    'sh',
    '-c',
    'bunx turbo run typecheck --output-logs=errors-only && bunx tsc -p bench/tsconfig.json && bunx tsc -p faults/tsconfig.json',
  ]);
  await check('lint', ['bunx', 'biome', 'check', '.']);
  // The fleet recipe (deploy/): compose file parses, the Dockerfile's steps build and start a fleet.
  await check('deploy recipe', ['bun', 'deploy/verify-recipe.ts']);
}

const workspaces = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(root, group)).map((name) => join(group, name)))
  .filter((dir) => (only.length === 0 || only.some((o) => dir.includes(o))) && hasTests(join(root, dir)));

for (const dir of workspaces) {
  console.log(`\n=== ${dir}: bun test`);
  // Bun reads bunfig.toml from the working directory only, so the timeout is given here: PGlite's
  // cold start alone takes seconds on a loaded 2-core machine.
  const { code, out } = await run(['bun', 'test', '--timeout', '60000'], join(root, dir));
  const p = Number(/^\s*(\d+) pass\s*$/m.exec(out)?.[1] ?? 0);
  let f = Number(/^\s*(\d+) fail\s*$/m.exec(out)?.[1] ?? 0);
  if (code !== 0 && f === 0) f = 1;
  passed += p;
  failed += f;
  console.log(`=== ${dir}: ${p} passed, ${f} failed`);
}

if (only.length === 0 && !noFaults) {
  // The trimmed fault suite (about 2 minutes; the full one is `bun run test:faults`), fixed seed.
  console.log('\n=== faults: bun faults/run.ts --scale trim --seed 20261125');
  const { code, out } = await run(['bun', 'faults/run.ts', '--scale', 'trim', '--seed', '20261125'], root);
  const m = /^(\d+) passed, (\d+) failed/m.exec(out);
  const p = Number(m?.[1] ?? 0);
  let f = Number(m?.[2] ?? 0);
  if (code !== 0 && f === 0) f = 1;
  passed += p;
  failed += f;
  console.log(`=== faults: ${p} passed, ${f} failed`);
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
