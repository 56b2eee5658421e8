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
  test("Omni's document at the top level, database and queue checked, without a key", async () => {
    const res = await t.app.inject({ url: '/api/v2/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('healthy');
    expect(body.version).toBe('2.0.0');
    expect(typeof body.uptime).toBe('number');
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(body.checks.database).toMatchObject({ status: 'ok', engine: 'postgres' });
    expect(body.checks.queue).toMatchObject({ status: 'ok', mode: 'in-process' });
  });

  test('is degraded (503) when the queue is down', async () => {
    const original = t.deps.queue.ping;
    t.deps.queue.ping = async () => false;
    try {
      const res = await t.app.inject({ url: '/api/v2/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json().status).toBe('degraded');
      expect(res.json().checks.queue.status).toBe('error');
    } finally {
      t.deps.queue.ping = original;
    }
  });

  test('is unhealthy (503) when the database is down', async () => {
    const original = t.deps.db.ping;
    t.deps.db.ping = async () => false;
    try {
      const res = await t.app.inject({ url: '/api/v2/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json().status).toBe('unhealthy');
      expect(res.json().checks.database.status).toBe('error');
    } finally {
      t.deps.db.ping = original;
    }
  });
});
