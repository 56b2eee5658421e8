import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
const shutdown = new AbortController();
beforeAll(async () => {
  t = await createTestApp();
  t.deps.shutdown = shutdown.signal;
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

describe('GET /api/v2/ready', () => {
  test('is 200 without a key while the database and queue answer', async () => {
    const res = await t.app.inject({ url: '/api/v2/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ready: true, reasons: [] });
  });

  test('is 503 naming the queue when NATS (the queue) is unreachable', async () => {
    const original = t.deps.queue.ping;
    t.deps.queue.ping = async () => {
      throw new Error('connection refused');
    };
    try {
      const res = await t.app.inject({ url: '/api/v2/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ ready: false, reasons: ['queue'] });
    } finally {
      t.deps.queue.ping = original;
    }
  });

  test('is 503 naming the database when it does not answer', async () => {
    const original = t.deps.db.ping;
    t.deps.db.ping = async () => false;
    try {
      const res = await t.app.inject({ url: '/api/v2/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json().reasons).toEqual(['database']);
    } finally {
      t.deps.db.ping = original;
    }
  });

  test('is 503 once shutdown has begun, while /health still answers', async () => {
    shutdown.abort();
    const res = await t.app.inject({ url: '/api/v2/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ready: false, reasons: ['stopping'] });
    expect((await t.app.inject({ url: '/api/v2/health' })).statusCode).toBe(200);
  });
});
