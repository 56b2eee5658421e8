/**
 * Tools a benchmark needs from Debian's packages (nginx, wrk): found on the machine, or installed
 * with apt-get when running as root — for benchmarks only, never for tests.
 */
import { existsSync } from 'node:fs';

/** A tool to find or install. */
export interface DebianTool {
  /** Executable name (`nginx`). */
  bin: string;
  /** Package that provides it (`nginx-light`). */
  pkg: string;
  /** Where to look besides `PATH` (`/usr/sbin/nginx`). */
  paths?: string[];
}

async function run(cmd: string[]): Promise<number> {
  const proc = Bun.spawn(cmd, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return proc.exited;
}

/** The tool's path, if it is installed. */
export function findTool(tool: DebianTool): string | null {
  return (tool.paths ?? []).find((p) => existsSync(p)) ?? Bun.which(tool.bin);
}

let updated = false;

/**
 * Returns the tool's path, installing its package (`apt-get install -y --no-install-recommends`)
 * when absent and this process is root with apt-get; else `{ reason }` saying how to install it.
 */
export async function ensureTool(
  tool: DebianTool,
  log: (...parts: unknown[]) => void,
): Promise<{ path: string } | { reason: string }> {
  const found = findTool(tool);
  if (found) return { path: found };
  const manual = `${tool.bin} is not installed; install it with: apt-get install -y ${tool.pkg}`;
  if (process.getuid?.() !== 0 || !Bun.which('apt-get')) return { reason: manual };
  log(`${tool.bin} absent: installing Debian's ${tool.pkg} (for this benchmark only)`);
  if (!updated) {
    if ((await run(['apt-get', 'update'])) !== 0) return { reason: `apt-get update failed; ${manual}` };
    updated = true;
  }
  if ((await run(['apt-get', 'install', '-y', '--no-install-recommends', tool.pkg])) !== 0) {
    return { reason: `apt-get install ${tool.pkg} failed` };
  }
  const path = findTool(tool);
  return path ? { path } : { reason: `${tool.pkg} installed but no ${tool.bin} found` };
}
