/**
 * CPU time spent by this process and by the local Postgres server's backends of one database, so a
 * load run can say what each request cost in CPU — a figure that, unlike latency, does not depend
 * much on how busy the rest of the machine is. Postgres's share is read from `/proc/<pid>/stat` of
 * the backends whose title (`postgres: <cluster>: <user> <database> …`) names the database — other
 * databases on a shared server are not counted (Linux only; `null` elsewhere or when none is
 * visible).
 *
 * @example
 * ```ts
 * const before = cpuNow('omni_t_1a2b');
 * await runLoad();
 * const used = cpuSince(before); // { selfMs, postgresMs }
 * ```
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU counters at one moment. */
export interface CpuMark {
  self: NodeJS.CpuUsage;
  /** User + system time of each of the database's backends, ms; `null` when not readable. */
  postgres: Map<string, number> | null;
  database: string;
}

/** CPU used between a mark and now, ms. */
export interface CpuUsed {
  selfMs: number;
  postgresMs: number | null;
}

/** Kernel clock ticks per second (`getconf CLK_TCK`): 100 on every Linux build Bun runs on. */
const TICKS_PER_SECOND = 100;

function postgresMs(database: string): Map<string, number> | null {
  const byPid = new Map<string, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let stat: string;
    let title: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (!title.split(' ').includes(database)) continue;
    const close = stat.lastIndexOf(')');
    // Fields after the command: state is field 3, utime 14, stime 15 (1-based).
    const fields = stat.slice(close + 2).split(' ');
    byPid.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
  }
  return byPid.size > 0 ? byPid : null;
}

/** The CPU counters now: this process's and those of `database`'s Postgres backends. */
export function cpuNow(database: string): CpuMark {
  // Postgres's backends first: reading /proc is not counted as this process's load.
  const postgres = postgresMs(database);
  return { self: process.cpuUsage(), postgres, database };
}

/**
 * CPU used since `mark`: by the backends alive now (those started meanwhile from zero). A backend
 * that exited meanwhile takes its time with it, so Postgres's figure is a lower bound when
 * connections were closed during the interval.
 */
export function cpuSince(mark: CpuMark): CpuUsed {
  const self = process.cpuUsage(mark.self);
  const pg = postgresMs(mark.database);
  let postgresUsed: number | null = null;
  if (pg !== null) {
    postgresUsed = 0;
    for (const [pid, ms] of pg) postgresUsed += Math.max(0, ms - (mark.postgres?.get(pid) ?? 0));
  }
  return { selfMs: (self.user + self.system) / 1000, postgresMs: postgresUsed };
}
