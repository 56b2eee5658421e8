import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.ts';
import { API_KEY, auth, createTestApp, type TestApp } from '../helpers.ts';

const SECRET_TEXT = 'call me at +49 170 5550123';
let t: TestApp;
let app: FastifyInstance;
const lines: string[] = [];

beforeAll(async () => {
  t = await createTestApp();
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // The real app factory with a logger, as main.ts builds it.
  app = await buildApp(t.deps, { logger: { level: 'debug', stream } });
  // A route whose query fails in the database with a message text among its parameters.
  app.get('/boom', async () => {
    await sql`select ${SECRET_TEXT}::text, ${'not-a-number'}::int`.execute(t.deps.db.db);
    return {};
  });
  // A 500: a relation that does not exist, queried with a phone number as parameter.
  app.get('/boom500', async () => {
    await sql`select * from no_such_table where phone = ${SECRET_TEXT}`.execute(t.deps.db.db);
    return {};
  });
  await app.ready();
}, 60_000);
afterAll(async () => {
  await app.close();
  await t.close();
}, 60_000);

describe('logs', () => {
  test('a failing query is a 400 and its parameters and SQL reach neither the answer nor the log', async () => {
    const res = await app.inject({ url: '/boom', headers: auth });
    expect(res.statusCode).toBe(400);
    const all = lines.join('');
    expect(all).toContain('22P02');
    expect(all).not.toContain(SECRET_TEXT);
    expect(all).not.toContain('not-a-number');
    expect(all).not.toContain('select');
    expect(res.body).not.toContain('not-a-number');
  });

  test('a 500 from the database logs its code, not its query or parameters', async () => {
    lines.length = 0;
    const res = await app.inject({ url: '/boom500', headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toEqual({ code: 'INTERNAL_ERROR', message: 'internal error' });
    const all = lines.join('');
    expect(all).toContain('42P01');
    expect(all).not.toContain(SECRET_TEXT);
    expect(all).not.toContain('no_such_table where');
  });

  test('API keys, tokens and authorization headers are redacted', async () => {
    lines.length = 0;
    await app.inject({
      url: '/api/v2/instances?api_key=query-secret-key',
      headers: { 'x-api-key': 'header-secret-key', authorization: 'Bot token-secret' },
    });
    await app.inject({
      method: 'POST',
      url: '/api/v2/instances/00000000-0000-0000-0000-000000000000/connect',
      headers: auth,
      payload: { token: 'body-secret-token' },
    });
    app.log.info(
      { token: 't-secret', instance: { credentials: 'c-secret', nested: { apiKey: 'k-secret' } } },
      'x',
    );
    const all = lines.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [
      'query-secret-key',
      'header-secret-key',
      'token-secret',
      'body-secret-token',
      't-secret',
      'c-secret',
      'k-secret',
      'test-key',
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('[Redacted]');
  });

  test('the key is redacted however its query name is spelled, also where it authenticates', async () => {
    const media = '/api/v2/media/00000000-0000-0000-0000-000000000000/none.jpg';
    for (const query of [
      `api%5Fkey=${API_KEY}`,
      `%61pi_key=${API_KEY}`,
      `API_KEY=${API_KEY}`,
      `api_key[]=${API_KEY}`,
      `x=1&&api_key=${API_KEY}#frag`,
      `access%5Ftoken=${API_KEY}`,
    ]) {
      lines.length = 0;
      const res = await app.inject({ url: `${media}?${query}` });
      // The query parser decodes the name: `api%5Fkey` is `api_key` and gets past auth (404, not 401).
      if (query.startsWith('api%5Fkey') || query.startsWith('%61pi')) expect(res.statusCode).toBe(404);
      const all = lines.join('');
      expect(all).toContain('[Redacted]');
      expect(all).not.toContain(API_KEY);
    }
  });
});
