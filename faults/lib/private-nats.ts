import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import type { Cleanup } from './cleanup.ts';
import { firstBytes, freePort } from './tcp-probe.ts';
import { ScenarioFailure, sleep, waitFor } from './wait.ts';

/**
 * A nats-server with JetStream of this scenario only (own port on 127.0.0.1, own `-sd` store
 * folder), so it may be killed and restarted; the shared server is never touched.
 */
export class PrivateNats {
  #proc: Subprocess | null = null;

  private constructor(
    readonly binary: string,
    readonly port: number,
    readonly storeDir: string,
  ) {}

  /** Starts the server and registers its teardown. */
  static async start(cleanup: Cleanup): Promise<PrivateNats> {
    const binary = Bun.which('nats-server') ?? '/usr/sbin/nats-server';
    const storeDir = mkdtempSync(join(tmpdir(), 'omni-faults-nats-'));
    cleanup.add(`rm ${storeDir}`, () => rmSync(storeDir, { recursive: true, force: true }));
    const nats = new PrivateNats(binary, await freePort(), storeDir);
    cleanup.add(`nats-server :${nats.port}`, () => nats.kill('SIGKILL'));
    await nats.launch();
    return nats;
  }

  /** `nats://127.0.0.1:PORT`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the process and waits until it answers with its INFO line (JetStream enabled). */
  async launch(): Promise<void> {
    this.#proc = Bun.spawn(
      [this.binary, '-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir],
      { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' },
    );
    await waitFor(
      `nats-server on :${this.port} to accept connections`,
      async () => {
        if (this.#proc?.exitCode !== null)
          throw new ScenarioFailure(`nats-server exited ${this.#proc?.exitCode}`);
        const info = await firstBytes(this.port, 300);
        return info?.startsWith('INFO') && info.includes('"jetstream":true');
      },
      { timeoutMs: 15_000, everyMs: 50 },
    );
  }

  /** Stops the process with `signal` and waits for it. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await proc.exited;
    this.#proc = null;
  }

  /** Kills the server (SIGKILL: no goodbye to clients), stays down `downMs`, starts it again on the same store. */
  async restart(downMs: number): Promise<void> {
    await this.kill('SIGKILL');
    await sleep(downMs);
    await this.launch();
  }
}
