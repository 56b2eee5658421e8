import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';

const WORKER_MAIN = join(import.meta.dir, '../../apps/sync-worker/src/main.ts');

/** An `apps/sync-worker` child process (its real `main.ts`, configured by environment). */
export class WorkerProcess {
  private constructor(
    readonly id: string,
    readonly proc: Subprocess,
    readonly logPath: string,
  ) {}

  /**
   * Spawns the worker with `env` added to this process's environment; stderr goes to `logPath`.
   * `main` is the entry (default the sync-worker's `main.ts`).
   */
  static spawn(id: string, env: Record<string, string>, logPath: string, main = WORKER_MAIN): WorkerProcess {
    const fd = openSync(logPath, 'a');
    const proc = Bun.spawn(['bun', 'run', main], {
      env: { ...process.env, ...env },
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: fd,
    });
    closeSync(fd);
    return new WorkerProcess(id, proc, logPath);
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Sends `signal` (if still running) and waits for the exit; returns the exit code or signal. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | string | null> {
    if (this.alive) this.proc.kill(signal);
    await this.proc.exited;
    return this.proc.signalCode ?? this.proc.exitCode;
  }
}
