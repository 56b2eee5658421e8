import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { WhatsAppGatewayError } from '@omni/runtime';
import { toApiError } from '../../src/plugins/error-handler.ts';
import { auth, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

describe('errors never leak as 500 for bad input', () => {
  test('401 without or with a wrong key; health needs none', async () => {
    const none = await t.app.inject({ url: '/api/v2/instances' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('UNAUTHORIZED');
    const wrong = await t.app.inject({ url: '/api/v2/instances', headers: { 'x-api-key': 'nope' } });
    expect(wrong.statusCode).toBe(401);
    expect((await t.app.inject({ url: '/api/v2/health' })).statusCode).toBe(200);
  });

  test('malformed JSON → 400 BAD_REQUEST', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BAD_REQUEST');
    const form = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '{"name": ',
    });
    expect(form.statusCode).toBe(400);
  });

  test('unsupported content type → 415, huge body → 413', async () => {
    const xml = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: { ...auth, 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(2_000_000), channel: 'discord' }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('unknown route → 404 in the error shape; bad query → 400 with details', async () => {
    const res = await t.app.inject({ url: '/api/v2/nope', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    const q = await t.app.inject({ url: '/api/v2/instances?limit=0', headers: auth });
    expect(q.statusCode).toBe(400);
    expect(q.json().error.details[0]).toMatchObject({ in: 'querystring', path: '/limit' });
    const cursor = await t.app.inject({ url: '/api/v2/instances?cursor=%%%', headers: auth });
    expect(cursor.statusCode).toBe(400);
  });

  test('OpenAPI document and docs page are served', async () => {
    const doc = await t.app.inject({ url: '/api/v2/openapi.json' });
    expect(doc.statusCode).toBe(200);
    const paths = Object.keys(doc.json().paths);
    expect(paths).toContain('/api/v2/instances/{id}/sync/{jobId}');
    expect(paths).toContain('/api/v2/settings');
    const docs = await t.app.inject({ url: '/api/v2/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });
});

describe('bodies', () => {
  test('an empty JSON body on a body-less POST is accepted; on a route needing a body it is a 400', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '',
    });
    expect(created.statusCode).toBe(400);
    expect(created.json().error.code).toBe('VALIDATION_ERROR');
    const { id } = (
      await t.app.inject({
        method: 'POST',
        url: '/api/v2/instances',
        headers: auth,
        payload: { name: 'e', channel: 'discord' },
      })
    ).json().data;
    const off = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/disconnect`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '',
    });
    expect(off.statusCode).toBe(200);
  });

  test('prototype poisoning is refused', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"name":"p","channel":"discord","__proto__":{"x":1}}',
    });
    expect(res.statusCode).toBe(400);
  });
});

test('WhatsApp sessions out of reach are 503 with their code; a refusal keeps its meaning', () => {
  const of = (code: ConstructorParameters<typeof WhatsAppGatewayError>[0], remoteCode?: string) =>
    toApiError(new WhatsAppGatewayError(code, 'm', { instanceId: 'i', remoteCode: remoteCode ?? null }));
  for (const code of ['WHATSAPP_UNAVAILABLE', 'WHATSAPP_TIMEOUT', 'WHATSAPP_SESSION_HELD'] as const) {
    expect(of(code)).toMatchObject({ status: 503, code });
  }
  expect(of('WHATSAPP_REFUSED', 'PERMANENT')).toMatchObject({ status: 422, code: 'UNPROCESSABLE' });
  expect(of('WHATSAPP_REFUSED', 'RATE_LIMITED')).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  expect(of('WHATSAPP_REFUSED', 'TRANSIENT')).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
});
