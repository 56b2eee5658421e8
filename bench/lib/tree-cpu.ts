/**
 * CPU time (user + system, every thread) of a process and all its descendants, read from
 * `/proc/<pid>/stat` — for a server running outside the bench's process (nginx's master and
 * workers, the API's primary and its cluster processes). Linux only; `null` elsewhere.
 *
 * @example
 * ```ts
 * const before = treeCpuMs(nginx.pid);
 * await runLoad();
 * const usedMs = (treeCpuMs(nginx.pid) ?? 0) - (before ?? 0);
 * ```
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second (`getconf CLK_TCK`): 100 on every Linux build Bun runs on. */
const TICKS_PER_SECOND = 100;

/** Fields after the command of `/proc/<pid>/stat` (state is field 3, ppid 4, utime 14, stime 15). */
function statFields(pid: string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

/** CPU ms used so far by `pid` and its descendants (living ones: a reaped child's time is lost). */
export function treeCpuMs(pid: number): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const children = new Map<string, string[]>();
  const ticks = new Map<string, number>();
  for (const p of pids) {
    const fields = statFields(p);
    if (!fields) continue;
    const parent = fields[1] as string;
    children.set(parent, [...(children.get(parent) ?? []), p]);
    ticks.set(p, Number(fields[11]) + Number(fields[12]));
  }
  if (!ticks.has(String(pid))) return null;
  let total = 0;
  const stack = [String(pid)];
  while (stack.length > 0) {
    const p = stack.pop() as string;
    total += ticks.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return (total * 1000) / TICKS_PER_SECOND;
}
