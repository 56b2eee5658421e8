import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auth, createInstance, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
let instanceId: string;
const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
/** Above the largest buffered body (8 MiB): streamed from the file. */
const big = Buffer.alloc(8 * 1024 * 1024 + 4099);
for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
const mtime = new Date('2026-02-03T04:05:06.789Z');
/** Files a browser could run script from, whatever the settings allowed to be stored. */
const SCRIPTABLE: [string, string][] = [
  ['x.svg', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'],
  ['x.html', '<script>alert(1)</script>'],
  ['x.htm', '<script>alert(1)</script>'],
  ['x.xhtml', '<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'],
  ['x.xml', '<?xml version="1.0"?><x/>'],
  ['x.js', 'alert(1)'],
  ['x.json', '{}'],
];

beforeAll(async () => {
  t = await createTestApp();
  instanceId = await createInstance(t, 'm');
  mkdirSync(join(t.mediaDir, instanceId, '2026-02'), { recursive: true });
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'msg1.jpg'), bytes);
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'voice.ogg'), bytes.subarray(0, 10));
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'big.mp4'), big);
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'empty.mp4'), Buffer.alloc(0));
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'notes.txt'), 'hello');
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'blob.xyz123'), bytes);
  for (const [name, body] of SCRIPTABLE) writeFileSync(join(t.mediaDir, instanceId, '2026-02', name), body);
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'unconfirmed.bin'), '<script>alert(1)</script>');
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'doc.pdf'), '%PDF-1.4\n');
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'pic.png'), bytes);
  utimesSync(join(t.mediaDir, instanceId, '2026-02', 'msg1.jpg'), mtime, mtime);
  mkdirSync(join(t.mediaDir, 'other'), { recursive: true });
  writeFileSync(join(t.mediaDir, 'other', 'x.jpg'), 'top secret');
  symlinkSync(join(t.mediaDir, 'other'), join(t.mediaDir, instanceId, 'dirlink'));
  writeFileSync(join(t.mediaDir, 'secret.txt'), 'top secret');
  symlinkSync(join(t.mediaDir, 'secret.txt'), join(t.mediaDir, instanceId, '2026-02', 'link.jpg'));
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const get = (path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  t.app.inject({ method, url: path, headers: { ...auth, ...headers } });

describe('media', () => {
  test('serves a file with type, length, ETag and Last-Modified, under both prefixes', async () => {
    for (const prefix of ['/api/v2/media', '/media']) {
      const res = await get(`${prefix}/${instanceId}/2026-02/msg1.jpg`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.rawPayload.equals(bytes)).toBe(true);
      expect(res.headers.etag).toBeDefined();
      expect(res.headers['last-modified']).toBeDefined();
      expect(res.headers['accept-ranges']).toBe('bytes');
    }
    const ogg = await get(`/api/v2/media/${instanceId}/2026-02/voice.ogg`);
    expect(ogg.headers['content-type']).toContain('audio/ogg');
  });

  test('needs the key', async () => {
    const res = await t.app.inject({ url: `/api/v2/media/${instanceId}/2026-02/msg1.jpg` });
    expect(res.statusCode).toBe(401);
  });

  test('ranges: 206, suffix, 416 with Content-Range', async () => {
    const part = await get(`/api/v2/media/${instanceId}/2026-02/msg1.jpg`, { range: 'bytes=10-19' });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe('bytes 10-19/1000');
    expect(part.rawPayload.equals(bytes.subarray(10, 20))).toBe(true);
    const suffix = await get(`/api/v2/media/${instanceId}/2026-02/msg1.jpg`, { range: 'bytes=-5' });
    expect(suffix.statusCode).toBe(206);
    expect(suffix.headers['content-range']).toBe('bytes 995-999/1000');
    expect(suffix.rawPayload.equals(bytes.subarray(995))).toBe(true);
    const bad = await get(`/api/v2/media/${instanceId}/2026-02/msg1.jpg`, { range: 'bytes=5000-6000' });
    expect(bad.statusCode).toBe(416);
    expect(bad.headers['content-range']).toBe('bytes */1000');
    expect(bad.json().error.code).toBe('RANGE_NOT_SATISFIABLE');
  });

  test('HEAD and conditional GET', async () => {
    const head = await get(`/api/v2/media/${instanceId}/2026-02/msg1.jpg`, {}, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('1000');
    expect(head.rawPayload.length).toBe(0);
    const etag = head.headers.etag as string;
    const cached = await get(`/api/v2/media/${instanceId}/2026-02/msg1.jpg`, { 'if-none-match': etag });
    expect(cached.statusCode).toBe(304);
  });

  test('no traversal: .., encoded separators, absolute paths, symlinks out, other instances', async () => {
    const attempts = [
      `/api/v2/media/${instanceId}/../secret.txt`,
      `/api/v2/media/${instanceId}/2026-02/../../secret.txt`,
      `/api/v2/media/${instanceId}/..%2Fsecret.txt`,
      `/api/v2/media/${instanceId}/%2e%2e/secret.txt`,
      `/api/v2/media/${instanceId}/2026-02%2F..%2F..%2Fsecret.txt`,
      `/api/v2/media/${instanceId}/..%5Csecret.txt`,
      `/api/v2/media/${instanceId}//etc/passwd`,
      `/api/v2/media/${instanceId}/%2Fetc%2Fpasswd`,
      `/api/v2/media/${instanceId}/2026-02/link.jpg`,
      `/api/v2/media/${instanceId}/.hidden`,
      `/api/v2/media/${instanceId}/2026-02`,
      '/api/v2/media/00000000-0000-4000-8000-000000000000/2026-02/msg1.jpg',
      '/api/v2/media/not-a-uuid/2026-02/msg1.jpg',
    ];
    for (const url of attempts) {
      const res = await get(url);
      expect([400, 404]).toContain(res.statusCode);
      expect(res.body).not.toContain('top secret');
      expect(res.json().error.code).toMatch(/VALIDATION_ERROR|NOT_FOUND/);
    }
  });
});

const file = (name: string) => `/api/v2/media/${instanceId}/2026-02/${name}`;
const ETAG = `W/"3e8-${mtime.getTime().toString(16)}"`;
const LAST_MODIFIED = mtime.toUTCString();

describe('media: headers and types', () => {
  test('validators, cache control and type as @fastify/static sent them', async () => {
    const res = await get(file('msg1.jpg'));
    expect(res.headers.etag).toBe(ETAG);
    expect(res.headers['last-modified']).toBe(LAST_MODIFIED);
    expect(res.headers['cache-control']).toBe('public, max-age=0');
    expect(res.headers['content-length']).toBe('1000');
    expect((await get(file('notes.txt'))).headers['content-type']).toBe('application/octet-stream');
    expect((await get(file('blob.xyz123'))).headers['content-type']).toBe('application/octet-stream');
    expect((await get(file('big.mp4'), {}, 'HEAD')).headers['content-type']).toBe('video/mp4');
  });

  test('an empty file: 200 with no body; any range of it is unsatisfiable', async () => {
    const res = await get(file('empty.mp4'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('0');
    expect(res.rawPayload.length).toBe(0);
    const ranged = await get(file('empty.mp4'), { range: 'bytes=0-' });
    expect(ranged.statusCode).toBe(416);
    expect(ranged.headers['content-range']).toBe('bytes */0');
  });
});

describe('media: ranges', () => {
  const cases: [string, number, number][] = [
    ['bytes=0-0', 0, 0],
    ['bytes=999-999', 999, 999],
    ['bytes=990-', 990, 999],
    ['bytes=0-', 0, 999],
    ['bytes=900-5000', 900, 999],
    ['bytes=-1', 999, 999],
    ['bytes=-1000', 0, 999],
    ['bytes= 1-2', 1, 2],
    ['bytes=1-5,3-9', 1, 9],
    ['bytes=1-5,6-9', 1, 9],
    ['bytes=0-1,1000-2000', 0, 1],
  ];
  for (const [range, start, end] of cases) {
    test(`${range} → 206 bytes ${start}-${end}`, async () => {
      const res = await get(file('msg1.jpg'), { range });
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/1000`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(res.headers['content-type']).toBe('image/jpeg');
      expect(res.rawPayload.equals(bytes.subarray(start, end + 1))).toBe(true);
    });
  }

  for (const range of ['bytes=1000-', 'bytes=-0', 'bytes=10-5', 'bytes=abc', 'bytes=5000-,6000-']) {
    test(`${range} → 416 with bytes */1000 and an error body`, async () => {
      const res = await get(file('msg1.jpg'), { range });
      expect(res.statusCode).toBe(416);
      expect(res.headers['content-range']).toBe('bytes */1000');
      expect(res.headers.etag).toBeUndefined();
      expect(res.json().error.code).toBe('RANGE_NOT_SATISFIABLE');
    });
  }

  for (const range of ['bytes=1-2,5-6', 'items=1-2', 'BYTES=1-2']) {
    test(`${range} → the whole file with 200 (several ranges, other units)`, async () => {
      const res = await get(file('msg1.jpg'), { range });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-range']).toBeUndefined();
      expect(res.rawPayload.equals(bytes)).toBe(true);
    });
  }

  test('a file above the buffered size is streamed whole and in ranges, byte for byte', async () => {
    const whole = await get(file('big.mp4'));
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-length']).toBe(String(big.length));
    expect(whole.rawPayload.equals(big)).toBe(true);
    const tail = await get(file('big.mp4'), { range: 'bytes=100-' });
    expect(tail.statusCode).toBe(206);
    expect(tail.headers['content-range']).toBe(`bytes 100-${big.length - 1}/${big.length}`);
    expect(tail.rawPayload.equals(big.subarray(100))).toBe(true);
    const suffix = await get(file('big.mp4'), { range: 'bytes=-3000000' });
    expect(suffix.rawPayload.equals(big.subarray(big.length - 3_000_000))).toBe(true);
  });

  test('concurrent ranges each get their own bytes (pooled buffers are not shared)', async () => {
    const ranges = Array.from({ length: 40 }, (_, i) => {
      const start = (i * 211_111) % (big.length - 2_000_000);
      return { start, end: start + 70_000 + ((i * 37_813) % 1_900_000) };
    });
    const responses = await Promise.all(
      ranges.map(({ start, end }) => get(file('big.mp4'), { range: `bytes=${start}-${end}` })),
    );
    responses.forEach((res, i) => {
      const { start, end } = ranges[i] as { start: number; end: number };
      expect(res.statusCode).toBe(206);
      expect(res.rawPayload.equals(big.subarray(start, end + 1))).toBe(true);
    });
  });
});

describe('media: HEAD and conditional requests', () => {
  test('HEAD: the headers of the GET, no body', async () => {
    const head = await get(file('big.mp4'), { range: 'bytes=10-19' }, 'HEAD');
    expect(head.statusCode).toBe(206);
    expect(head.headers['content-range']).toBe(`bytes 10-19/${big.length}`);
    expect(head.headers['content-length']).toBe('10');
    expect(head.rawPayload.length).toBe(0);
    const unsatisfiable = await get(file('msg1.jpg'), { range: 'bytes=5000-' }, 'HEAD');
    expect(unsatisfiable.statusCode).toBe(416);
    const notModified = await get(file('msg1.jpg'), { 'if-none-match': ETAG }, 'HEAD');
    expect(notModified.statusCode).toBe(304);
    expect(notModified.headers['content-length']).toBeUndefined();
  });

  test('304 for If-None-Match (weak or strong form, lists, *) and If-Modified-Since', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'if-none-match': ETAG },
      { 'if-none-match': ETAG.slice(2) },
      { 'if-none-match': `"other", ${ETAG}` },
      { 'if-none-match': '*' },
      { 'if-modified-since': LAST_MODIFIED },
      { 'if-none-match': ETAG, range: 'bytes=5000-' },
    ]) {
      const res = await get(file('msg1.jpg'), headers);
      expect(res.statusCode).toBe(304);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBe(ETAG);
      expect(res.headers['last-modified']).toBe(LAST_MODIFIED);
      expect(res.headers['content-type']).toBeUndefined();
    }
  });

  test('200 when the validators do not match, or the client says no-cache', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'if-none-match': '"other"' },
      { 'if-none-match': '"other"', 'if-modified-since': LAST_MODIFIED },
      { 'if-modified-since': new Date(mtime.getTime() - 2000).toUTCString() },
      { 'if-modified-since': 'not a date' },
      { 'if-none-match': ETAG, 'cache-control': 'no-cache' },
    ]) {
      const res = await get(file('msg1.jpg'), headers);
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(bytes)).toBe(true);
    }
  });

  test('412 for a failed If-Match or If-Unmodified-Since', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'if-match': '"other"' },
      { 'if-unmodified-since': new Date(mtime.getTime() - 2000).toUTCString() },
    ]) {
      const res = await get(file('msg1.jpg'), headers);
      expect(res.statusCode).toBe(412);
      expect(res.json().error.message).toBe('Precondition Failed');
    }
    expect((await get(file('msg1.jpg'), { 'if-match': ETAG })).statusCode).toBe(200);
    expect((await get(file('msg1.jpg'), { 'if-unmodified-since': LAST_MODIFIED })).statusCode).toBe(200);
  });

  test('If-Range: the range while the validator holds, else the whole file', async () => {
    const range = 'bytes=1-2';
    for (const ifRange of [ETAG, LAST_MODIFIED]) {
      const res = await get(file('msg1.jpg'), { range, 'if-range': ifRange });
      expect(res.statusCode).toBe(206);
      expect(res.rawPayload.equals(bytes.subarray(1, 3))).toBe(true);
    }
    for (const ifRange of ['"other"', new Date(mtime.getTime() - 2000).toUTCString(), 'not a date']) {
      const res = await get(file('msg1.jpg'), { range, 'if-range': ifRange });
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(bytes)).toBe(true);
    }
    const stale = await get(file('msg1.jpg'), { range: 'bytes=5000-', 'if-range': '"other"' });
    expect(stale.statusCode).toBe(200);
  });

  test('a replaced file is served fresh: new ETag and bytes, no stale metadata', async () => {
    const path = join(t.mediaDir, instanceId, '2026-02', 'swap.jpg');
    writeFileSync(path, bytes.subarray(0, 100));
    const first = await get(file('swap.jpg'));
    writeFileSync(`${path}.tmp`, bytes.subarray(0, 200));
    utimesSync(`${path}.tmp`, mtime, mtime);
    renameSync(`${path}.tmp`, path);
    const second = await get(file('swap.jpg'));
    expect(second.headers['content-length']).toBe('200');
    expect(second.headers.etag).not.toBe(first.headers.etag);
    expect(second.rawPayload.equals(bytes.subarray(0, 200))).toBe(true);
  });
});

describe('media: confinement', () => {
  test('more traversal attempts: symlinked folders out, dot names, NUL, double encoding, depth', async () => {
    const attempts = [
      `/api/v2/media/${instanceId}/dirlink/x.jpg`,
      `/api/v2/media/${instanceId}/2026-02/.msg1.jpg`,
      `/api/v2/media/${instanceId}/2026-02/msg1.jpg%2f`,
      `/api/v2/media/${instanceId}/2026-02/msg1.jpg%00.txt`,
      `/api/v2/media/${instanceId}/2026-02/%252e%252e/secret.txt`,
      `/api/v2/media/${instanceId}/2026-02\\..\\..\\secret.txt`,
      `/api/v2/media/${instanceId}/${'a/'.repeat(9)}x.jpg`,
      `/api/v2/media/${instanceId}/2026-02/missing.jpg`,
      `/media/${instanceId}/../secret.txt`,
    ];
    for (const url of attempts) {
      for (const headers of [{}, { range: 'bytes=0-' }] as Record<string, string>[]) {
        const res = await get(url, headers);
        expect([400, 404]).toContain(res.statusCode);
        expect(res.body).not.toContain('top secret');
      }
    }
  });
});

describe('media over a real socket', () => {
  test('full, ranged and concurrent GETs arrive byte for byte through node:http', async () => {
    const origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
    {
      const fetchBytes = async (name: string, headers: Record<string, string> = {}) => {
        const res = await fetch(`${origin}${file(name)}`, { headers: { ...auth, ...headers } });
        return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
      };
      const whole = await fetchBytes('big.mp4');
      expect(whole.status).toBe(200);
      expect(whole.body.equals(big)).toBe(true);
      const ranges = Array.from({ length: 24 }, (_, i) => ({
        start: i * 300_001,
        end: i * 300_001 + 1_000_000,
      }));
      const parts = await Promise.all(
        ranges.map((r) => fetchBytes('big.mp4', { range: `bytes=${r.start}-${r.end}` })),
      );
      parts.forEach((part, i) => {
        const { start, end } = ranges[i] as { start: number; end: number };
        expect(part.status).toBe(206);
        expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${big.length}`);
        expect(part.body.equals(big.subarray(start, end + 1))).toBe(true);
      });
      const small = await fetchBytes('msg1.jpg', { range: 'bytes=-5' });
      expect(small.body.equals(bytes.subarray(995))).toBe(true);
    }
  });
});

describe('media: served safely', () => {
  const SECURITY = {
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  };

  test('images, audio, video and PDF are served inline with their type', async () => {
    for (const [name, type] of [
      ['msg1.jpg', 'image/jpeg'],
      ['pic.png', 'image/png'],
      ['big.mp4', 'video/mp4'],
      ['voice.ogg', 'audio/ogg'],
      ['doc.pdf', 'application/pdf'],
    ]) {
      const res = await get(file(name as string), {}, 'HEAD');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(type as string);
      expect(res.headers['content-disposition']).toBeUndefined();
      expect(res.headers).toMatchObject(SECURITY);
    }
  });

  test('SVG, HTML, XML, script, text and unconfirmed (.bin) files are attachments of no type', async () => {
    for (const name of [...SCRIPTABLE.map(([n]) => n), 'notes.txt', 'unconfirmed.bin', 'blob.xyz123']) {
      for (const headers of [{}, { range: 'bytes=0-3' }] as Record<string, string>[]) {
        const res = await get(file(name), headers);
        expect(res.statusCode === 200 || res.statusCode === 206).toBe(true);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        expect(res.headers['content-disposition']).toBe('attachment');
        expect(res.headers).toMatchObject(SECURITY);
      }
    }
  });

  test('every answer carries nosniff and the sandbox policy: 304, 400, 401, 404, 416', async () => {
    const head = await get(file('x.svg'), {}, 'HEAD');
    const answers = [
      await get(file('x.svg'), { 'if-none-match': head.headers.etag as string }),
      await get(`/api/v2/media/${instanceId}/..%2fsecret.txt`),
      await t.app.inject({ url: file('x.svg') }),
      await get(file('missing.jpg')),
      await get(file('x.svg'), { range: 'bytes=9999-' }),
    ];
    expect(answers.map((r) => r.statusCode)).toEqual([304, 400, 401, 404, 416]);
    for (const res of answers) expect(res.headers).toMatchObject(SECURITY);
  });
});
