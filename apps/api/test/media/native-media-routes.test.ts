import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { NativeRequest, NativeRoutesServer } from '../../src/http/native-routes-server.ts';
import { nativeMediaRoutes } from '../../src/media/native-media-routes.ts';
import { API_KEY, createTestApp, type TestApp } from '../helpers.ts';

/**
 * The media route answered natively (Bun.serve routes, sendfile) against the same app answering
 * through Fastify alone (`nativeMedia: false`): the same raw requests, byte for byte, must get the
 * same status, headers and body — with and without CORS.
 */
const ID = '0b6f3c52-8a4e-4c1f-9d2a-7e5b1c3d4f60';
const ORIGIN = 'http://dash.example';
const mtime = new Date('2026-02-03T04:05:06.789Z');
const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));
const big = Buffer.alloc(8 * 1024 * 1024 + 4099);
for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);

function fillMedia(root: string): void {
  const dir = join(root, ID, '2026-02');
  mkdirSync(dir, { recursive: true });
  const files: [string, Buffer | string][] = [
    ['msg1.jpg', bytes],
    ['big.mp4', big],
    ['empty.mp4', Buffer.alloc(0)],
    ['x.svg', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'],
    ['unconfirmed.bin', '<script>alert(1)</script>'],
    ['doc.pdf', '%PDF-1.4\n'],
  ];
  for (const [name, body] of files) {
    writeFileSync(join(dir, name), body);
    utimesSync(join(dir, name), mtime, mtime);
  }
  mkdirSync(join(root, 'other'), { recursive: true });
  writeFileSync(join(root, 'other', 'x.jpg'), 'top secret');
  writeFileSync(join(root, 'secret.txt'), 'top secret');
  symlinkSync(join(root, 'other'), join(root, ID, 'dirlink'));
  symlinkSync(join(root, 'secret.txt'), join(dir, 'link.jpg'));
  execFileSync('mkfifo', [join(dir, 'fifo.jpg')]);
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One request sent exactly as written (no URL normalisation), `Connection: close`; a `host` among
 * `headers` replaces the usual one (which may be no host at all).
 */
function rawRequest(origin: string, method: string, target: string, headers: Record<string, string>) {
  const { port } = new URL(origin);
  const lines = [`${method} ${target} HTTP/1.1`, 'connection: close'];
  if (!('host' in headers)) lines.push(`host: 127.0.0.1:${port}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return new Promise<RawAnswer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const [statusLine = '', ...headerLines] = all.subarray(0, split).toString('latin1').split('\r\n');
      const answer: RawAnswer = {
        status: Number(statusLine.split(' ')[1]),
        headers: {},
        body: all.subarray(split + 4),
      };
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        answer.headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve(answer);
    });
  });
}

/**
 * The answers to `requests` written at once on one connection, read by their `Content-Length`
 * until the server closes it (or leaves it silent for 5 s).
 */
function pipelined(origin: string, requests: string): Promise<RawAnswer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(new URL(origin).port), '127.0.0.1', () => socket.write(requests));
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const answers: RawAnswer[] = [];
      for (let at = 0; at < all.length; ) {
        const split = all.indexOf('\r\n\r\n', at);
        const [statusLine = '', ...headerLines] = all.subarray(at, split).toString('latin1').split('\r\n');
        const answer: RawAnswer = {
          status: Number(statusLine.split(' ')[1]),
          headers: {},
          body: Buffer.alloc(0),
        };
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          answer.headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(answer.headers['content-length'] ?? 0);
        answer.body = all.subarray(split + 4, split + 4 + length);
        answers.push(answer);
        if (!statusLine.startsWith('HTTP/1.1 ')) break;
        at = split + 4 + length;
      }
      resolve(answers);
    });
  });
}

/** What both servers must agree on: everything but the connection's own headers. */
function comparable(answer: RawAnswer) {
  const { date: _d, connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...headers } = answer.headers;
  let body = answer.body;
  if (answer.headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', at);
      const size = Number.parseInt(body.subarray(at, eol).toString(), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 4 + size;
    }
    body = Buffer.concat(parts);
  }
  return { status: answer.status, headers, length: body.length, hash: Bun.hash(body) };
}

const key = { 'x-api-key': API_KEY };
const m = (rest: string) => `/api/v2/media/${ID}/${rest}`;
const ETAG = `W/"3e8-${mtime.getTime().toString(16)}"`;
/** [method, raw target, headers]: the plain cases and every refusal of the route. */
const CASES: [string, string, Record<string, string>][] = [
  ['GET', m('2026-02/msg1.jpg'), key],
  ['GET', `/media/${ID}/2026-02/msg1.jpg`, key],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=10-19' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=-5' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=990-' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=0-1,5-9' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=0-1,3-9' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=2000-' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'items=0-5' }],
  ['GET', m('2026-02/big.mp4'), key],
  ['GET', m('2026-02/big.mp4'), { ...key, range: 'bytes=100-5000000' }],
  ['GET', m('2026-02/x.svg'), key],
  ['GET', m('2026-02/unconfirmed.bin'), { ...key, range: 'bytes=0-3' }],
  ['GET', m('2026-02/doc.pdf'), key],
  ['HEAD', m('2026-02/msg1.jpg'), key],
  ['HEAD', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=10-19' }],
  ['HEAD', m('2026-02/big.mp4'), key],
  ['GET', m('2026-02/empty.mp4'), key],
  ['HEAD', m('2026-02/empty.mp4'), key],
  ['GET', m('2026-02/empty.mp4'), { ...key, range: 'bytes=0-' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, 'if-none-match': ETAG }],
  ['HEAD', m('2026-02/msg1.jpg'), { ...key, 'if-none-match': ETAG }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, 'if-modified-since': 'Wed, 04 Feb 2026 00:00:00 GMT' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, 'if-none-match': ETAG, 'cache-control': 'no-cache' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, 'if-match': '"nope"' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, 'if-unmodified-since': 'Mon, 02 Feb 2026 00:00:00 GMT' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=0-9', 'if-range': ETAG }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=0-9', 'if-range': 'W/"other"' }],
  ['GET', m('2026-02/msg1.jpg'), {}],
  ['GET', m('2026-02/msg1.jpg'), { 'x-api-key': 'wrong' }],
  ['HEAD', m('2026-02/msg1.jpg'), {}],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${API_KEY}`, { range: 'bytes=0-9' }],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${API_KEY}&api_key=${API_KEY}`, {}],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=wrong`, {}],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${API_KEY}&t=1`, {}],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${encodeURIComponent(API_KEY)}%00`, {}],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${'k'.repeat(600)}`, {}],
  // The query is the route's to check even when the key comes in the header.
  ['GET', `${m('2026-02/msg1.jpg')}?x=%00`, { ...key, range: 'bytes=0-9' }],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${API_KEY}&api_key=${API_KEY}`, key],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${'k'.repeat(600)}`, key],
  // A fragment is part of the query value for the route (as node:http hands it over).
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${API_KEY}#x`, {}],
  ['GET', `${m('2026-02/msg1.jpg')}?x#&api_key=${API_KEY}`, {}],
  // Ranges the route ignores, which Bun would apply to a 200 file answer.
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'BYTES=0-3' }],
  ['GET', m('2026-02/msg1.jpg'), { ...key, range: 'bytes=0-3', Range: 'bytes=5-9' }],
  // No usable Host: Bun's Request.url is then the target alone.
  ['GET', m('2026-02/msg1.jpg'), { ...key, host: 'a/b' }],
  ['HEAD', `/media/${ID}/2026-02/msg1.jpg`, { ...key, host: 'a b' }],
  ['GET', `${m('2026-02/msg1.jpg')}?api_key=${API_KEY}`, { host: '' }],
  ['GET', m('../secret.txt'), key],
  ['GET', m('2026-02/../../secret.txt'), key],
  ['GET', m('2026-02/./msg1.jpg'), key],
  ['GET', m('..%2Fsecret.txt'), key],
  ['GET', m('%2e%2e/secret.txt'), key],
  ['GET', m('%2E%2E/%2e%2e/secret.txt'), key],
  ['GET', m('2026-02/msg1%2ejpg'), key],
  ['GET', m('2026-02/%6dsg1.jpg'), key],
  ['GET', m('2026-02%2Fmsg1.jpg'), key],
  ['GET', m('..%5Csecret.txt'), key],
  ['GET', m('2026-02\\msg1.jpg'), key],
  ['GET', m('2026-02/msg1.jpg%00.txt'), key],
  ['GET', m('2026-02/%252e%252e/secret.txt'), key],
  ['GET', m('/etc/passwd'), key],
  ['GET', m('2026-02/link.jpg'), key],
  ['GET', m('dirlink/x.jpg'), key],
  ['GET', m('.hidden'), key],
  ['GET', m('2026-02'), key],
  ['GET', m('2026-02/'), key],
  ['GET', m('2026-02/missing.jpg'), key],
  ['GET', m('2026-02/fifo.jpg'), key],
  ['GET', m(`${'a/'.repeat(7)}x.jpg`), key],
  ['GET', m(`${'a/'.repeat(9)}x.jpg`), key],
  [
    'GET',
    m(`${'a'.repeat(200)}/${'b'.repeat(200)}/${'c'.repeat(200)}/${'d'.repeat(200)}/${'e'.repeat(200)}/x.jpg`),
    key,
  ],
  ['GET', `/api/v2/media/${ID.toUpperCase()}/2026-02/msg1.jpg`, key],
  ['GET', '/api/v2/media/00000000-0000-4000-8000-000000000000/2026-02/msg1.jpg', key],
  ['GET', '/api/v2/media/not-a-uuid/2026-02/msg1.jpg', key],
  ['GET', `/api/v2/media/../${ID}/2026-02/msg1.jpg`, key],
  ['GET', `/api/v2/media/%2e%2e/2026-02/msg1.jpg`, key],
  ['GET', `/api/v2/media/${ID}`, key],
  ['OPTIONS', m('2026-02/msg1.jpg'), { origin: ORIGIN, 'access-control-request-method': 'GET' }],
  ['POST', m('2026-02/msg1.jpg'), key],
];

for (const cors of [false, true]) {
  describe(`media answered natively = through Fastify (${cors ? 'with' : 'without'} CORS)`, () => {
    const apps: { native: TestApp; fastify: TestApp; nativeOrigin: string; fastifyOrigin: string } =
      {} as never;
    beforeAll(async () => {
      const corsOrigins = cors ? [ORIGIN] : [];
      apps.native = await createTestApp(undefined, { corsOrigins });
      apps.fastify = await createTestApp(undefined, { corsOrigins, nativeMedia: false });
      fillMedia(apps.native.mediaDir);
      fillMedia(apps.fastify.mediaDir);
      apps.nativeOrigin = await apps.native.app.listen({ host: '127.0.0.1', port: 0 });
      apps.fastifyOrigin = await apps.fastify.app.listen({ host: '127.0.0.1', port: 0 });
    }, 60_000);
    afterAll(async () => {
      await apps.native?.close();
      await apps.fastify?.close();
    }, 60_000);

    test('the native routes are installed (only where asked)', () => {
      expect((apps.native.app.server as NativeRoutesServer).nativeRoutesActive).toBe(true);
      expect((apps.fastify.app.server as NativeRoutesServer).nativeRoutesActive).toBe(false);
    });

    test('a plain range is answered by Bun, never reaching node:http; the same bytes', async () => {
      let reachedNode = 0;
      const count = () => reachedNode++;
      apps.native.app.server.on('request', count);
      apps.fastify.app.server.on('request', count);
      const [n, f] = await Promise.all([
        rawRequest(apps.nativeOrigin, 'GET', m('2026-02/big.mp4'), { ...key, range: 'bytes=7-1000006' }),
        rawRequest(apps.fastifyOrigin, 'GET', m('2026-02/big.mp4'), { ...key, range: 'bytes=7-1000006' }),
      ]);
      apps.native.app.server.off('request', count);
      apps.fastify.app.server.off('request', count);
      expect(reachedNode).toBe(1);
      expect(n.status).toBe(206);
      expect(n.body.equals(big.subarray(7, 1000007))).toBe(true);
      expect(comparable(n)).toEqual(comparable(f));
    });

    for (const [method, target, headers] of CASES) {
      const origins = cors ? [undefined, ORIGIN, 'http://evil.example'] : [undefined];
      test(`${method} ${target.slice(0, 120)} ${JSON.stringify(headers).slice(0, 80)}`, async () => {
        for (const origin of origins) {
          const h = origin ? { ...headers, origin } : headers;
          const n = await rawRequest(apps.nativeOrigin, method, target, h);
          const f = await rawRequest(apps.fastifyOrigin, method, target, h);
          expect(comparable(n)).toEqual(comparable(f));
          expect(n.body.toString('latin1')).not.toContain('top secret');
        }
      });
    }

    test('media requests pipelined on one connection are answered in order, each whole', async () => {
      const get = (target: string, headers: Record<string, string>) =>
        [
          `GET ${target} HTTP/1.1`,
          'host: x',
          ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
          '',
          '',
        ].join('\r\n');
      const burst = [
        get(m('2026-02/msg1.jpg'), key),
        get(m('2026-02/msg1.jpg'), { ...key, range: 'bytes=10-19' }),
        get(m('2026-02/msg1.jpg'), {}),
        get(m('2026-02/x.svg'), key),
        get(m('2026-02/msg1.jpg'), { ...key, range: 'bytes=-5', connection: 'close' }),
      ].join('');
      const [n, f] = await Promise.all([
        pipelined(apps.nativeOrigin, burst),
        pipelined(apps.fastifyOrigin, burst),
      ]);
      expect(n.map((a) => a.status)).toEqual([200, 206, 401, 200, 206]);
      expect(n.map(comparable)).toEqual(f.map(comparable));
    });

    test('native and Fastify answers share keep-alive connections', async () => {
      for (let i = 0; i < 5; i++) {
        const media = await fetch(`${apps.nativeOrigin}${m('2026-02/msg1.jpg')}`, {
          headers: { ...key, range: `bytes=${i}-${i + 9}` },
        });
        expect(Buffer.from(await media.arrayBuffer()).equals(bytes.subarray(i, i + 10))).toBe(true);
        const health = await fetch(`${apps.nativeOrigin}/api/v2/health`);
        expect(health.status).toBe(200);
        await health.arrayBuffer();
      }
    });
  });
}

describe('native media answers are counted', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    fillMedia(t.mediaDir);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  test('onAnswer hears of each native answer with the route pattern; refusals go to the app', async () => {
    const events: { method: string; route: string; status: number; seconds: number }[] = [];
    const routes = nativeMediaRoutes({
      app: t.app,
      keyMatches: (given) => given === API_KEY,
      storagePath: t.mediaDir,
      prefixes: ['/api/v2/media'],
      corsHeaders: () => ({}),
      onAnswer: (event) => events.push(event),
    });
    const handle = routes['/api/v2/media/:instanceId/:s1/:s2']?.GET;
    if (!handle) throw new Error('no route for two segments');
    const ask = (headers: Record<string, string>) =>
      handle(
        Object.assign(new Request(`http://127.0.0.1${m('2026-02/msg1.jpg')}`, { headers }), {
          params: { instanceId: ID, s1: '2026-02', s2: 'msg1.jpg' },
        }) as NativeRequest,
      );
    const served = await ask({ ...key, range: 'bytes=0-9' });
    expect(served.status).toBe(206);
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes.subarray(0, 10))).toBe(true);
    const refused = await ask({});
    expect(refused.status).toBe(401);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ method: 'GET', route: '/api/v2/media/:instanceId/*', status: 206 });
  });

  test('a request the app can no longer answer (closing: inject refuses) gets a 503, not the 500 page of Bun', async () => {
    const closed = await createTestApp();
    fillMedia(closed.mediaDir);
    const routes = nativeMediaRoutes({
      app: closed.app,
      keyMatches: (given) => given === API_KEY,
      storagePath: closed.mediaDir,
      prefixes: ['/api/v2/media'],
      corsHeaders: () => ({}),
    });
    await closed.close();
    const handle = routes['/api/v2/media/:instanceId/:s1/:s2']?.GET;
    if (!handle) throw new Error('no route for two segments');
    const answer = await handle(
      Object.assign(new Request(`http://127.0.0.1${m('2026-02/msg1.jpg')}`), {
        params: { instanceId: ID, s1: '2026-02', s2: 'msg1.jpg' },
      }) as NativeRequest,
    );
    expect(answer.status).toBe(503);
    expect(answer.headers.get('connection')).toBe('close');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await answer.json()).toEqual({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'the server is shutting down or unavailable' },
    });
  });

  test('what the native path cannot read (its media folder gone) is left to the app', async () => {
    const events: unknown[] = [];
    const routes = nativeMediaRoutes({
      app: t.app,
      keyMatches: (given) => given === API_KEY,
      storagePath: join(t.mediaDir, 'gone'),
      prefixes: ['/api/v2/media'],
      corsHeaders: () => ({}),
      onAnswer: (event) => events.push(event),
    });
    const handle = routes['/api/v2/media/:instanceId/:s1/:s2']?.GET;
    if (!handle) throw new Error('no route for two segments');
    const request = Object.assign(
      new Request(`http://127.0.0.1${m('2026-02/msg1.jpg')}`, { headers: { ...key, range: 'bytes=5-9' } }),
      { params: { instanceId: ID, s1: '2026-02', s2: 'msg1.jpg' } },
    ) as NativeRequest;
    const answer = await handle(request);
    expect(answer.status).toBe(206);
    expect(Buffer.from(await answer.arrayBuffer()).equals(bytes.subarray(5, 10))).toBe(true);
    expect(events).toHaveLength(0);
  });
});
