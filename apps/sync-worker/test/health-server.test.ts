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
});
