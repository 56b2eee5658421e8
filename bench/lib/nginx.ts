/**
 * nginx for comparison benchmarks only: found on the machine, or installed from Debian's packages
 * (`nginx-light`, see debian-package.ts); run in the foreground with a temporary config on a
 * 127.0.0.1 port, and stopped by pid. Never a test dependency.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DebianTool, ensureTool, findTool } from './debian-package.ts';

/** nginx from Debian's `nginx-light`. */
export const NGINX_TOOL: DebianTool = {
  bin: 'nginx',
  pkg: 'nginx-light',
  paths: ['/usr/sbin/nginx', '/usr/local/sbin/nginx'],
};

/**
 * Returns the nginx binary, installing `nginx-light` when absent and allowed (see
 * {@link ensureTool}); the package's own service, if the install started one, is stopped again.
 */
export async function ensureNginx(
  log: (...parts: unknown[]) => void,
): Promise<{ path: string } | { reason: string }> {
  const wasInstalled = findTool(NGINX_TOOL) !== null;
  const found = await ensureTool(NGINX_TOOL, log);
  if (!wasInstalled && 'path' in found && existsSync('/run/nginx.pid')) {
    await Bun.spawn([found.path, '-s', 'quit'], { stdio: ['ignore', 'ignore', 'ignore'] }).exited;
  }
  return found;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Options of {@link startNginx}. */
export interface NginxOptions {
  /** URL prefix served (`/api/v2/media/`), ending in `/`. */
  location: string;
  /** Folder served under `location`. */
  root: string;
  /** `worker_processes`: a count or `auto` (one per core). @defaultValue 1 */
  workers?: number | 'auto' | `${number}`;
}

/** A running nginx. */
export interface RunningNginx {
  origin: string;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

/**
 * Starts `bin` in the foreground (`daemon off`) with a config in a temp prefix: sendfile, no
 * access log, keep-alive without a request cap, `location` aliased to `root`.
 */
export async function startNginx(bin: string, options: NginxOptions): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'omni-bench-nginx-'));
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    conf,
    `${user}
daemon off;
master_process on;
worker_processes ${options.workers ?? 1};
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    location ${options.location} { alias ${options.root.replace(/\/?$/, '/')}; }
  }
}
`,
  );
  const versionProc = Bun.spawn([bin, '-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const version = (await new Response(versionProc.stderr).text()).trim().replace(/^nginx version: /, '');
  const proc = Bun.spawn([bin, '-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode} (config ${conf})`);
    const up = await fetch(`${origin}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 100) throw new Error('nginx did not come up in 10 s');
    await Bun.sleep(100);
  }
  return {
    origin,
    pid: proc.pid,
    version,
    stop: async () => {
      proc.kill('SIGQUIT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc.exited;
      clearTimeout(timer);
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
