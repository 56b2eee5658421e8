import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auth, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
let instanceId: string;
const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

beforeAll(async () => {
  t = await createTestApp();
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v2/instances',
    headers: auth,
    payload: { name: 'm', channel: 'discord' },
  });
  instanceId = res.json().data.id;
  mkdirSync(join(t.mediaDir, instanceId, '2026-02'), { recursive: true });
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'msg1.jpg'), bytes);
  writeFileSync(join(t.mediaDir, instanceId, '2026-02', 'voice.ogg'), bytes.subarray(0, 10));
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
