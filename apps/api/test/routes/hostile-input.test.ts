import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { auth, createInstance, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
let discord: string;
beforeAll(async () => {
  t = await createTestApp();
  discord = await createInstance(t, 'hostile');
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('bad input answers 4xx with a code', () => {
  test('a NUL byte in a body string, a query value or a path parameter is a 400', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: auth,
      payload: { name: 'a\u0000b', channel: 'discord' },
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().error.code).toBe('VALIDATION_ERROR');
    expect(created.json().error.details[0]).toMatchObject({ in: 'body', path: '/name' });

    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${discord}`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=x%00y',
    });
    expect(patched.statusCode).toBe(400);

    for (const url of [
      `/api/v2/instances/${discord}/messages?chatId=a%00b`,
      `/api/v2/instances/${discord}/contacts?search=%00`,
      `/api/v2/instances/${discord}/contacts/a%00b`,
      `/api/v2/instances/${discord}/groups/%00`,
    ]) {
      const res = await t.app.inject({ url, headers: auth });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
    const key = await t.app.inject({
      method: 'PATCH',
      url: '/api/v2/settings',
      headers: auth,
      payload: { 'sync.profile.scheduleCron\u0000': '0 4 * * *' },
    });
    expect(key.statusCode).toBe(400);
  });

  test('dates JavaScript or Postgres cannot hold are a 400 naming the parameter', async () => {
    for (const [name, value] of [
      ['since', '2016-12-31T23:59:60Z'],
      ['until', '2021-02-30T00:00:00Z'],
      ['since', '0000-01-01T00:00:00Z'],
      ['since', '99999-01-01T00:00:00Z'],
      ['until', '2026-01-01T24:00:00Z'],
    ] as const) {
      const res = await t.app.inject({
        url: `/api/v2/instances/${discord}/messages?${name}=${encodeURIComponent(value)}`,
        headers: auth,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
  });

  test('forged cursors (wrong shape, values of the wrong kind, NUL, out-of-range dates) are a 400', async () => {
    const forged = [
      'not-base64-json',
      b64(['a']),
      b64({ 0: 'x', 1: 'y' }),
      b64([1, 2]),
      b64(['2026-01-01 00:00:00+00', 'not-a-uuid']),
      b64(['2026-01-01 00:00:00+00\u0000', '00000000-0000-0000-0000-000000000000']),
      b64(['x'.repeat(1500), '00000000-0000-0000-0000-000000000000']),
      b64([null, null]),
    ];
    const forgedTime = [
      b64(['2026-13-45 25:61:00+00', '00000000-0000-0000-0000-000000000000']),
      b64(['yesterday', '00000000-0000-0000-0000-000000000000']),
    ];
    const routes: [string, string[]][] = [
      ['/api/v2/instances', [...forged, ...forgedTime]],
      [`/api/v2/instances/${discord}/sync`, [...forged, ...forgedTime]],
      [`/api/v2/instances/${discord}/messages`, [...forged, ...forgedTime]],
      [`/api/v2/instances/${discord}/contacts`, forged],
      [`/api/v2/instances/${discord}/groups`, forged],
    ];
    for (const [route, cursors] of routes) {
      for (const cursor of cursors) {
        const res = await t.app.inject({
          url: `${route}?cursor=${encodeURIComponent(cursor)}`,
          headers: auth,
        });
        expect({ route, cursor, status: res.statusCode }).toEqual({ route, cursor, status: 400 });
      }
    }
    // A day that does not exist in the month passes the cursor's shape check and is refused by
    // Postgres: still a 400, and the value is not echoed.
    const feb30 = b64(['2026-02-30 00:00:00+00', '00000000-0000-0000-0000-000000000000']);
    const res = await t.app.inject({ url: `/api/v2/instances?cursor=${feb30}`, headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('2026-02-30');
  });

  test('a token with a NUL, a newline or a space on connect is a 400 at once', async () => {
    for (const token of ['abc\u0000def', 'abc\ndef', 'abc\r\nX-Injected: 1', 'two words']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v2/instances/${discord}/connect`,
        headers: auth,
        payload: { token },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
  });

  test('a body with thousands of schema errors gets a bounded error answer', async () => {
    // ~0.9 MB of wrong-typed fields: every one is an error under `allErrors`.
    const body: Record<string, number> = {};
    for (let i = 0; i < 64_000; i++) body[`k${i}`] = i;
    const payload = JSON.stringify(body);
    expect(payload.length).toBeGreaterThan(900_000);
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${discord}`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(8_000);
    const { details } = res.json().error;
    expect(details.length).toBeLessThanOrEqual(11);
  });

  test('the form-encoded JSON parser refuses prototype poisoning like the JSON parser', async () => {
    for (const contentType of ['application/json', 'application/x-www-form-urlencoded']) {
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/v2/instances/${discord}`,
        headers: { ...auth, 'content-type': contentType },
        payload: '{"name":"p","__proto__":{"isAdmin":true}}',
      });
      expect({ contentType, status: res.statusCode }).toEqual({ contentType, status: 400 });
      const ctor = await t.app.inject({
        method: 'PATCH',
        url: `/api/v2/instances/${discord}`,
        headers: { ...auth, 'content-type': contentType },
        payload: '{"name":"p","constructor":{"prototype":{"isAdmin":true}}}',
      });
      expect({ contentType, status: ctor.statusCode }).toEqual({ contentType, status: 400 });
    }
    const form = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${discord}`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '__proto__=x',
    });
    expect(form.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  test('a path that is not valid percent-encoding is a 400 in the API error shape', async () => {
    for (const url of [
      `/api/v2/instances/%ED%A0%80`,
      `/api/v2/media/${discord}/%C0%AE%C0%AE/api-key`,
      `/api/v2/chats/%E0%A4%A`,
    ]) {
      const res = await t.app.inject({ url, headers: auth });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 400 });
      expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    }
  });
});
