import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.ts';
import { freePort } from './tcp-probe.ts';
import { ScenarioFailure } from './wait.ts';

/** Where initdb and pg_ctl live (Debian's layout), newest major first. */
function postgresBin(): string {
  const glob = new Bun.Glob('*/bin/pg_ctl');
  const found = [...glob.scanSync('/usr/lib/postgresql')].sort().reverse()[0];
  if (!found) throw new ScenarioFailure('no /usr/lib/postgresql/*/bin/pg_ctl: cannot run a private Postgres');
  return join('/usr/lib/postgresql', found, '..');
}

async function sh(argv: string[], what: string): Promise<string> {
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new ScenarioFailure(`${what} exited ${code}: ${(err || out).trim().slice(0, 400)}`);
  return out;
}

/**
 * A Postgres cluster of this scenario only: `initdb` into a temp folder and `pg_ctl` on its own
 * port on 127.0.0.1 (trust auth, socket in the same folder). As root it runs as the `postgres`
 * user (initdb refuses root). It may be crashed and restarted; the shared cluster is never touched.
 */
export class PrivatePostgres {
  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
    readonly asUser: string[],
  ) {}

  /** Creates and starts the cluster; registers its teardown. */
  static async start(cleanup: Cleanup): Promise<PrivatePostgres> {
    const bin = postgresBin();
    const dir = mkdtempSync(join(tmpdir(), 'omni-faults-pg-'));
    cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    let asUser: string[] = [];
    if (process.getuid?.() === 0) {
      const id = await sh(['id', '-u', 'postgres'], 'id -u postgres').catch(() => null);
      const gid = await sh(['id', '-g', 'postgres'], 'id -g postgres').catch(() => null);
      if (!id || !gid) throw new ScenarioFailure('running as root and no postgres user for initdb');
      chownSync(dir, Number(id), Number(gid));
      asUser = ['runuser', '-u', 'postgres', '--'];
    }
    const pg = new PrivatePostgres(bin, dir, await freePort(), asUser);
    await sh(
      [...asUser, join(bin, 'initdb'), '-D', pg.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync'],
      'initdb',
    );
    cleanup.add(`pg_ctl stop ${pg.dataDir}`, () => pg.stop('immediate').catch(() => {}));
    await pg.launch();
    return pg;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** `pg_ctl start -w` on the private port (fsync off: a throw-away cluster). */
  async launch(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    await sh(
      [
        ...this.asUser,
        join(this.bin, 'pg_ctl'),
        '-D',
        this.dataDir,
        '-o',
        opts,
        '-l',
        join(this.dir, 'log'),
        '-w',
        'start',
      ],
      'pg_ctl start',
    );
  }

  /** `pg_ctl stop -m <mode>`: `immediate` is a crash (recovery on the next start). */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await sh(
      [...this.asUser, join(this.bin, 'pg_ctl'), '-D', this.dataDir, '-m', mode, '-w', 'stop'],
      'pg_ctl stop',
    );
  }
}
