import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { WorkerHealthServer } from '../src/health-server.ts';

const server = new WorkerHealthServer();
let base = '';
beforeAll(async () => {
  await server.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.close());

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.json() };
};

describe('WorkerHealthServer', () => {
  test('is live at once, ready only after start-up, not while stopping', async () => {
    expect(await get('/live')).toEqual({ status: 200, body: { live: true } });
    expect(await get('/ready')).toEqual({ status: 503, body: { ready: false, reasons: ['starting'] } });

    let queueUp = true;
    server.started({ database: async () => true, queue: async () => queueUp });
    expect(await get('/ready')).toEqual({ status: 200, body: { ready: true, reasons: [] } });

    queueUp = false;
    expect(await get('/ready')).toEqual({ status: 503, body: { ready: false, reasons: ['queue'] } });

    queueUp = true;
    server.stopping();
    expect(await get('/ready')).toEqual({ status: 503, body: { ready: false, reasons: ['stopping'] } });
    expect((await get('/nope')).status).toBe(404);
  });

  test('/metrics: 503 before start-up, then the source; a token, when set, is required', async () => {
    const guarded = new WorkerHealthServer({ metricsToken: 'tok' });
    await guarded.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${guarded.port}/metrics`;
    try {
      expect((await fetch(url, { headers: { authorization: 'Bearer tok' } })).status).toBe(503);
      guarded.started(
        { database: async () => true, queue: async () => true },
        { scrape: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'omni_x 1\n' }) },
      );
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer tok' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('omni_x 1\n');
    } finally {
      await guarded.close();
    }
  });
});
