import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

describe('GET /api/v2/health', () => {
  test('reports database and queue without a key', async () => {
    const res = await t.app.inject({ url: '/api/v2/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      data: {
        status: 'ok',
        database: { engine: 'postgres', ok: true },
        queue: { mode: 'in-process', ok: true },
      },
    });
  });

  test('is degraded (503) when the queue is down', async () => {
    const original = t.deps.queue.ping;
    t.deps.queue.ping = async () => false;
    try {
      const res = await t.app.inject({ url: '/api/v2/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json().data.status).toBe('degraded');
      expect(res.json().data.queue.ok).toBe(false);
    } finally {
      t.deps.queue.ping = original;
    }
  });
});
