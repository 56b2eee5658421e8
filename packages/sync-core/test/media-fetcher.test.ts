import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CancelledError } from '../src/errors/cancelled-error.ts';
import { MediaRefusedError } from '../src/errors/media-refused-error.ts';
import { TransientError } from '../src/errors/transient-error.ts';
import { openExchange } from '../src/media/media-exchange.ts';
import { MediaFetcher } from '../src/media/media-fetcher.ts';

const TLS = {
  key: readFileSync(new URL('./support/tls/media-test.key', import.meta.url)),
  cert: readFileSync(new URL('./support/tls/media-test.crt', import.meta.url)),
};

const listen = <S extends Server | TcpServer>(server: S): Promise<number> =>
  new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );

/** A server standing for an internal endpoint: counts every TCP connection it gets. */
let internal: TcpServer;
let internalPort = 0;
let internalConnections = 0;
/** The allowed origin (on `allowOrigins`): files, redirects, tarpits. */
let origin: Server;
let base = '';
/** A second trusted origin, for redirects that leave the first one. */
let base2 = '';
let other: Server;
let tarpitsOpen = 0;
const FILE = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);

beforeAll(async () => {
  internal = createTcpServer((socket) => {
    internalConnections++;
    socket.on('error', () => {});
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret');
  });
  internalPort = await listen(internal);
  origin = createHttpServer((req, res) => {
    const path = req.url ?? '/';
    const redirect = (to: string) => {
      res.writeHead(302, { location: to });
      res.end();
    };
    if (path === '/file') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': FILE.length });
      res.end(FILE);
    } else if (path === '/hop1') redirect('/hop2');
    else if (path === '/hop2') redirect(`${base}/hop3`);
    else if (path === '/hop3') redirect('/file');
    else if (path.startsWith('/loop')) redirect(`/loop${path.length}`);
    else if (path === '/to-internal') redirect(`http://127.0.0.1:${internalPort}/admin`);
    else if (path === '/to-internal-https') redirect(`https://127.0.0.1:${internalPort}/admin`);
    else if (path === '/to-decimal') redirect(`https://2130706433:${internalPort}/admin`);
    else if (path === '/to-named') redirect('https://internal.media.test/admin');
    else if (path === '/to-file') redirect('file:///etc/passwd');
    else if (path === '/to-bad') redirect('https://[::1');
    else if (path === '/echo-auth') {
      res.writeHead(200);
      res.end(String(req.headers.authorization ?? 'none'));
    } else if (path === '/auth-same') redirect('/echo-auth');
    else if (path === '/auth-elsewhere') redirect(`${base2}/echo-auth`);
    else if (path === '/truncated') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only a little');
      setTimeout(() => res.destroy(), 20);
    } else if (path === '/tarpit') {
      tarpitsOpen++;
      res.writeHead(200, { 'content-type': 'image/png' });
      const tick = setInterval(() => res.write('x'), 50);
      res.on('close', () => {
        tarpitsOpen--;
        clearInterval(tick);
      });
    } else if (path === '/silent') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write('x');
    } else if (path === '/no-headers') {
      // never answers
    } else if (path === '/declared-big') {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('x');
    } else if (path === '/chunked-big') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const push = () => {
        while (sent < 2 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 2 * 1024 * 1024) res.once('drain', push);
        else res.end();
      };
      push();
    } else {
      res.writeHead(404);
      res.end('nope');
    }
  });
  base = `http://127.0.0.1:${await listen(origin)}`;
  other = createHttpServer(origin.listeners('request')[0] as Parameters<typeof createHttpServer>[0]);
  base2 = `http://127.0.0.1:${await listen(other)}`;
});

afterAll(() => {
  internal.close();
  for (const server of [origin, other]) {
    server.closeAllConnections();
    server.close();
  }
});

const resolver = (map: Record<string, string[]>) => async (host: string) => {
  const found = map[host];
  if (!found) throw new Error(`no test address for ${host}`);
  return found;
};

function fetcher(overrides: ConstructorParameters<typeof MediaFetcher>[0] = {}): MediaFetcher {
  return new MediaFetcher({
    allowOrigins: [base, base2],
    resolve: resolver({
      'internal.media.test': ['127.0.0.1'],
      'mixed.media.test': ['93.184.215.14', '10.0.0.8'],
      'mapped.media.test': ['::ffff:127.0.0.1'],
      'metadata.media.test': ['169.254.169.254'],
      'cgnat.media.test': ['100.64.1.1'],
      'ula.media.test': ['fd00::1'],
      'zero.media.test': ['0.0.0.0'],
    }),
    deadlineMs: 3_000,
    idleTimeoutMs: 400,
    maxBytes: 1024 * 1024,
    ...overrides,
  });
}

const ALLOWED = { allowedHosts: ['*.media.test'] };

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    const res = await work;
    if (res instanceof Response) await res.arrayBuffer();
  } catch (error) {
    if (error instanceof MediaRefusedError) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('MediaFetcher refusals (nothing internal is ever connected to)', () => {
  const cases: [string, () => string, string][] = [
    ['file URL', () => 'file:///etc/passwd', 'scheme'],
    ['data URL', () => 'data:text/html,<script>1</script>', 'scheme'],
    ['ftp', () => 'ftp://cdn.media.test/x', 'scheme'],
    ['http to an allowed host', () => 'http://cdn.media.test/x', 'scheme'],
    ['not a URL', () => 'not a url', 'scheme'],
    ['internal over http', () => `http://127.0.0.1:${internalPort}/admin`, 'scheme'],
    ['loopback over https', () => `https://127.0.0.1:${internalPort}/admin`, 'address'],
    ['decimal loopback', () => `https://2130706433:${internalPort}/`, 'address'],
    ['octal loopback', () => `https://0177.0.0.1:${internalPort}/`, 'address'],
    ['hex loopback', () => `https://0x7f.0.0.1:${internalPort}/`, 'address'],
    ['short loopback', () => `https://127.1:${internalPort}/`, 'address'],
    ['0.0.0.0', () => `https://0.0.0.0:${internalPort}/`, 'address'],
    ['IPv6 loopback', () => `https://[::1]:${internalPort}/`, 'address'],
    ['IPv4-mapped IPv6', () => `https://[::ffff:127.0.0.1]:${internalPort}/`, 'address'],
    ['private literal', () => 'https://10.0.0.1/', 'address'],
    ['metadata literal', () => 'https://169.254.169.254/latest/meta-data/', 'address'],
    ['name resolving to loopback', () => 'https://internal.media.test/admin', 'address'],
    ['name resolving to public and private', () => 'https://mixed.media.test/x', 'address'],
    ['name resolving to mapped loopback', () => 'https://mapped.media.test/x', 'address'],
    ['name resolving to metadata', () => 'https://metadata.media.test/x', 'address'],
    ['name resolving to CGNAT', () => 'https://cgnat.media.test/x', 'address'],
    ['name resolving to unique-local', () => 'https://ula.media.test/x', 'address'],
    ['name resolving to 0.0.0.0', () => 'https://zero.media.test/x', 'address'],
    ['public IP literal', () => 'https://93.184.215.14/x', 'host'],
    ['host off the allowlist', () => 'https://evil.example/x', 'host'],
    ['look-alike host', () => 'https://media.test.evil.example/x', 'host'],
    ['allowed host on another port', () => 'https://cdn.media.test:8443/x', 'host'],
    ['origin that only shares a prefix', () => `${base}0/file`, 'scheme'],
    ['redirect to internal http', () => `${base}/to-internal`, 'scheme'],
    ['redirect to internal https', () => `${base}/to-internal-https`, 'address'],
    ['redirect to decimal loopback', () => `${base}/to-decimal`, 'address'],
    ['redirect to a name resolving to loopback', () => `${base}/to-named`, 'address'],
    ['redirect to file', () => `${base}/to-file`, 'scheme'],
    ['redirect to an invalid URL', () => `${base}/to-bad`, 'redirect'],
    ['endless redirects', () => `${base}/loop`, 'redirect'],
  ];
  for (const [name, url, reason] of cases) {
    test(`${name} → ${reason}`, async () => {
      const before = internalConnections;
      expect(await refusal(fetcher().fetch(url(), ALLOWED))).toBe(reason);
      expect(internalConnections).toBe(before);
    });
  }

  test('the internal endpoint was never connected to', () => {
    expect(internalConnections).toBe(0);
  });
});

describe('MediaFetcher bounds', () => {
  test('a tarpit is cut at the deadline and its connection closed', async () => {
    const res = await fetcher({ deadlineMs: 600 }).fetch(`${base}/tarpit`, ALLOWED);
    expect(await refusal(res.arrayBuffer())).toBe('timeout');
    await Bun.sleep(50);
    expect(tarpitsOpen).toBe(0);
  });

  test('a body that stops sending is cut by the idle timeout', async () => {
    const res = await fetcher({ idleTimeoutMs: 200 }).fetch(`${base}/silent`, ALLOWED);
    expect(await refusal(res.arrayBuffer())).toBe('timeout');
  });

  test('a server that never answers is cut by the idle timeout', async () => {
    expect(await refusal(fetcher({ idleTimeoutMs: 200 }).fetch(`${base}/no-headers`, ALLOWED))).toBe(
      'timeout',
    );
  });

  test('a TLS server that never finishes its handshake is cut', async () => {
    const stall = createTcpServer((socket) => socket.on('error', () => {}));
    const port = await listen(stall);
    try {
      const target = {
        url: new URL(`https://media.test:${port}/x`),
        connectHost: '127.0.0.1',
        servername: 'media.test',
        trusted: false,
      };
      const controller = new AbortController();
      const opened = openExchange(
        target,
        {},
        {
          signal: controller.signal,
          connectTimeoutMs: 1000,
          idleTimeoutMs: 200,
          ca: TLS.cert,
          onTimeout: (phase) => controller.abort(new MediaRefusedError('timeout', phase)),
        },
      );
      expect(await refusal(opened)).toBe('timeout');
    } finally {
      stall.close();
    }
  });

  test('a declared size over the cap is refused before the body', async () => {
    expect(await refusal(fetcher().fetch(`${base}/declared-big`, ALLOWED))).toBe('size');
  });

  test('an undeclared body over the cap is cut while it streams', async () => {
    const res = await fetcher().fetch(`${base}/chunked-big`, ALLOWED);
    expect(res.status).toBe(200);
    expect(await refusal(res.arrayBuffer())).toBe('size');
  });

  test('the caller signal aborts a download in flight', async () => {
    const controller = new AbortController();
    const res = await fetcher({ deadlineMs: 60_000 }).fetch(`${base}/tarpit`, {
      ...ALLOWED,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(res.arrayBuffer()).rejects.toBeInstanceOf(CancelledError);
    await Bun.sleep(50);
    expect(tarpitsOpen).toBe(0);
  });

  test('an aborted signal refuses to start', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      fetcher().fetch(`${base}/file`, { ...ALLOWED, signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('MediaFetcher success', () => {
  test('a file from an allowed origin, byte for byte', async () => {
    const res = await fetcher().fetch(`${base}/file`, ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(FILE);
  });

  test('redirects within allowed origins are followed (3 hops)', async () => {
    const res = await fetcher().fetch(`${base}/hop1`, ALLOWED);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(FILE);
  });

  test('credentials are kept within the origin and dropped when a redirect leaves it', async () => {
    const init = { ...ALLOWED, headers: { Authorization: 'Bearer secret' } };
    const same = await fetcher().fetch(`${base}/auth-same`, init);
    expect(await same.text()).toBe('Bearer secret');
    const elsewhere = await fetcher().fetch(`${base}/auth-elsewhere`, init);
    expect(await elsewhere.text()).toBe('none');
  });

  test('a body cut short is a transient failure, not a file', async () => {
    const res = await fetcher({ idleTimeoutMs: 10_000 }).fetch(`${base}/truncated`, ALLOWED);
    await expect(res.arrayBuffer()).rejects.toBeInstanceOf(TransientError);
  });

  test('statuses other than 2xx come back for the channel to judge', async () => {
    const res = await fetcher().fetch(`${base}/missing`, ALLOWED);
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });

  test('MEDIA_ALLOW_ORIGINS is read when no origins are given', async () => {
    const saved = process.env.MEDIA_ALLOW_ORIGINS;
    process.env.MEDIA_ALLOW_ORIGINS = ` ${base} `;
    try {
      const f = new MediaFetcher({ deadlineMs: 3000 });
      expect(f.allowOrigins).toEqual([base]);
      const res = await f.fetch(`${base}/file`, ALLOWED);
      expect((await res.arrayBuffer()).byteLength).toBe(FILE.length);
    } finally {
      if (saved === undefined) delete process.env.MEDIA_ALLOW_ORIGINS;
      else process.env.MEDIA_ALLOW_ORIGINS = saved;
    }
    expect(await refusal(new MediaFetcher().fetch(`${base}/file`, ALLOWED))).toBe('scheme');
  });
});

describe('openExchange (the connection goes to the checked address)', () => {
  test('connects to the address, verifies TLS for the name, sends the name as Host', async () => {
    const seen: { host?: string; sni?: string } = {};
    const server = createHttpsServer(TLS, (req, res) => {
      seen.host = req.headers.host;
      seen.sni = (req.socket as TLSSocket).servername as string;
      res.end('ok');
    });
    const port = await listen(server);
    try {
      const target = {
        url: new URL(`https://media.test:${port}/file?sig=1`),
        connectHost: '127.0.0.1',
        servername: 'media.test',
        trusted: false,
      };
      const controller = new AbortController();
      const control = {
        signal: controller.signal,
        connectTimeoutMs: 1000,
        idleTimeoutMs: 1000,
        ca: TLS.cert,
        onTimeout: () => controller.abort(new Error('timeout')),
      };
      const exchange = await openExchange(target, {}, control);
      expect(exchange.response.statusCode).toBe(200);
      exchange.response.resume();
      exchange.close();
      expect(seen).toEqual({ host: `media.test:${port}`, sni: 'media.test' });
      // A certificate that does not name the URL's host is refused.
      await expect(
        openExchange(
          { ...target, url: new URL(`https://other.test:${port}/`), servername: 'other.test' },
          {},
          control,
        ),
      ).rejects.toThrow(/altnames|certificate/i);
    } finally {
      server.close();
    }
  });
});
