/**
 * `bun run bench <name> [args]` runs `bench/<name>.ts`. Every benchmark prints JSON lines.
 * Without a name, lists the benchmarks.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [name, ...args] = process.argv.slice(2);
const benches = readdirSync(import.meta.dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
if (!name || !existsSync(join(import.meta.dir, `${name}.ts`))) {
  console.error(`usage: bun run bench <name>\nbenchmarks: ${benches.join(', ') || '(none yet)'}`);
  process.exit(name ? 2 : 0);
}
const proc = Bun.spawn(['bun', join(import.meta.dir, `${name}.ts`), ...args], {
  stdio: ['inherit', 'inherit', 'inherit'],
});
process.exit(await proc.exited);
