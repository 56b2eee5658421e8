import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'kysely';
import { auth, createInstance, createTestApp, GOOD_TOKEN, type TestApp } from '../helpers.ts';

let t: TestApp;
let instanceId: string;
const dispatched: string[] = [];

beforeAll(async () => {
  t = await createTestApp();
  const original = t.queue.dispatch.bind(t.queue);
  t.queue.dispatch = async (ticket) => {
    dispatched.push(ticket.jobId);
    await original(ticket);
  };
  instanceId = await createInstance(t, 's');
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const post = (path: string, payload?: unknown, form = false) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v2/instances/${instanceId}${path}`,
    headers: form ? { ...auth, 'content-type': 'application/x-www-form-urlencoded' } : auth,
    ...(payload === undefined ? {} : { payload: form ? JSON.stringify(payload) : (payload as object) }),
  });
const get = (path: string) => t.app.inject({ url: `/api/v2/instances/${instanceId}${path}`, headers: auth });

describe('sync routes', () => {
  test('a disconnected instance cannot sync (409)', async () => {
    const res = await post('/sync', { type: 'messages' });
    expect(res.statusCode).toBe(409);
  });

  test('POST /sync as curl -d sends it: 202 with jobId; identical request returns the same job', async () => {
    await post('/connect', { token: GOOD_TOKEN });
    const res = await post('/sync', { type: 'messages', depth: '7d' }, true);
    expect(res.statusCode).toBe(202);
    const data = res.json().data;
    expect(data).toMatchObject({
      instanceId,
      type: 'messages',
      status: 'pending',
      config: { depth: '7d', downloadMedia: false },
    });
    expect(dispatched).toContain(data.jobId);
    const again = await post('/sync', { type: 'messages', depth: '7d' }, true);
    expect(again.json().data.jobId).toBe(data.jobId);
    expect(again.json().data.message).toContain('already');

    const detail = await get(`/sync/${data.jobId}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.json().data).toMatchObject({
      jobId: data.jobId,
      instanceId,
      type: 'messages',
      status: 'pending',
      progressPercent: 0,
      errorMessage: null,
      startedAt: null,
      completedAt: null,
    });
    expect(detail.json().data.progress).toMatchObject({ fetched: 0, stored: 0, duplicates: 0 });

    // A running job's estimate reaches the client with the counters.
    const other = (await post('/sync', { type: 'messages', depth: '30d' })).json().data.jobId;
    await t.db.db
      .updateTable('sync_jobs')
      .set({ progress: sql`progress || '{"estimatedTotal": 600, "etaSeconds": 42, "fetched": 100}'::jsonb` })
      .where('id', '=', other)
      .execute();
    const estimated = await get(`/sync/${other}`);
    expect(estimated.json().data.progress).toMatchObject({
      estimatedTotal: 600,
      etaSeconds: 42,
      fetched: 100,
    });
    // …and the OpenAPI document of the job describes both.
    const doc = (await t.app.inject({ url: '/api/v2/openapi.json' })).json();
    const jobDoc = JSON.stringify(doc.paths['/api/v2/instances/{id}/sync/{jobId}'].get.responses['200']);
    expect(jobDoc).toContain('estimatedTotal');
    expect(jobDoc).toContain('etaSeconds');
  });

  test('depth defaults to sync.defaultDepth; downloadMedia to the instance flag', async () => {
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${instanceId}`,
      headers: auth,
      payload: { downloadMediaOnSync: true },
    });
    const res = await post('/sync', { type: 'all' });
    expect(res.json().data.config).toEqual({ depth: '7d', downloadMedia: true });
  });

  test('bad bodies are 400; unknown job 404; job of another instance 404', async () => {
    expect((await post('/sync', { type: 'everything' })).statusCode).toBe(400);
    expect((await post('/sync', { type: 'messages', depth: '2d' })).statusCode).toBe(400);
    expect((await post('/sync', {})).statusCode).toBe(400);
    expect((await get('/sync/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await get('/sync/nope')).statusCode).toBe(400);
    const other = await createInstance(t, 'o');
    const { jobId } = (await post('/sync', { type: 'profile' })).json().data;
    const res = await t.app.inject({ url: `/api/v2/instances/${other}/sync/${jobId}`, headers: auth });
    expect(res.statusCode).toBe(404);
  });

  test('list with status filter and cursor paging', async () => {
    const all = await get('/sync?limit=2');
    expect(all.statusCode).toBe(200);
    expect(all.json().items).toHaveLength(2);
    expect(all.json().meta.hasMore).toBe(true);
    const next = await get(`/sync?limit=2&cursor=${all.json().meta.cursor}`);
    expect(next.json().items.length).toBeGreaterThan(0);
    const ids = new Set([...all.json().items, ...next.json().items].map((j: { jobId: string }) => j.jobId));
    expect(ids.size).toBe(all.json().items.length + next.json().items.length);
    const pending = await get('/sync?status=pending');
    expect(pending.json().items.every((j: { status: string }) => j.status === 'pending')).toBe(true);
    expect((await get('/sync?status=weird')).statusCode).toBe(400);
  });

  test('cancel a pending job, resume it, cancel twice is fine, resume completed is 409', async () => {
    const { jobId } = (await post('/sync', { type: 'messages', depth: '30d' })).json().data;
    const cancelled = await post(`/sync/${jobId}/cancel`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json().data.status).toBe('cancelled');
    expect((await post(`/sync/${jobId}/cancel`)).json().data.status).toBe('cancelled');
    const resumed = await post(`/sync/${jobId}/resume`);
    expect(resumed.statusCode).toBe(202);
    expect(resumed.json().data.status).toBe('pending');
    await t.deps.jobs.claimJob(jobId, 'w', 60_000);
    await t.deps.jobs.completeJob(jobId);
    expect((await post(`/sync/${jobId}/resume`)).statusCode).toBe(409);
    expect((await post(`/sync/${jobId}/cancel`)).statusCode).toBe(409);
  });

  test('POST /sync/profile returns the profile synced now', async () => {
    const res = await post('/sync/profile');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      type: 'profile',
      status: 'completed',
      profile: { name: 'omni-bot', avatarUrl: 'https://cdn.example/avatar.png', bio: 'a bot' },
    });
    const instance = await t.app.inject({ url: `/api/v2/instances/${instanceId}`, headers: auth });
    expect([instance.json().data.profileName, instance.json().data.profileBio]).toEqual([
      'omni-bot',
      'a bot',
    ]);
  });

  test('SSE: a finished job replays its terminal event and ends', async () => {
    const { jobId } = (await post('/sync', { type: 'contacts' })).json().data;
    await post(`/sync/${jobId}/cancel`);
    const res = await get(`/sync/${jobId}/events`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(res.body).toContain('event: sync.cancelled');
  });

  test('SSE: current state first, then live events, ending on the terminal one', async () => {
    const { jobId } = (await post('/sync', { type: 'groups' })).json().data;
    const pending = get(`/sync/${jobId}/events`);
    const until = new Date(Date.now() + 60_000).toISOString();
    const publish = async (type: 'sync.started' | 'sync.progress' | 'sync.paused' | 'sync.completed') =>
      t.events.publish({
        type,
        instanceId,
        jobId,
        at: new Date().toISOString(),
        ...(type === 'sync.paused' ? { until, reason: 'cooldown' } : { status: 'running' }),
      });
    // Events are published until the stream has ended; the route buffers those before its snapshot.
    let done = false;
    void pending.then(() => {
      done = true;
    });
    while (!done) {
      await publish('sync.started');
      await publish('sync.progress');
      await publish('sync.paused');
      await publish('sync.completed');
      await new Promise((r) => setTimeout(r, 10));
    }
    const res = await pending;
    const events = [...res.body.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('sync.progress');
    expect(events.at(-1)).toBe('sync.completed');
    expect(events.filter((e) => e === 'sync.completed')).toHaveLength(1);
    // A pause is streamed with when it ends and why; the job is still running.
    const paused = /^event: sync\.paused\ndata: (.+)$/m.exec(res.body);
    expect(paused).not.toBeNull();
    expect(JSON.parse(paused?.[1] ?? '{}')).toMatchObject({ until, reason: 'cooldown', status: 'running' });
  });
});

describe('channels', () => {
  test('syncing a channel not installed here is 503', async () => {
    const wa = await createInstance(t, 'wa', 'whatsapp-baileys');
    await t.db.db.updateTable('instances').set({ connection_state: 'open' }).where('id', '=', wa).execute();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${wa}/sync`,
      headers: auth,
      payload: { type: 'messages' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('SERVICE_UNAVAILABLE');
  });
});
