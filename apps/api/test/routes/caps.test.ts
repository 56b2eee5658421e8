import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { auth, createInstance, createTestApp, GOOD_TOKEN, type TestApp } from '../helpers.ts';

let t: TestApp;
let base: string;
let a: string;
let b: string;
let subscribeCalls = 0;

beforeAll(async () => {
  t = await createTestApp(undefined, { eventStreams: { maxStreamsPerInstance: 3, maxStreams: 5 } });
  const subscribe = t.deps.events.subscribe.bind(t.deps.events);
  t.deps.events.subscribe = (filter, handler) => {
    subscribeCalls += 1;
    return subscribe(filter, handler);
  };
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  a = await createInstance(t, 'caps-a');
  b = await createInstance(t, 'caps-b');
  for (const id of [a, b]) await post(id, '/connect', { token: GOOD_TOKEN });
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const post = (id: string, path: string, payload?: object) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v2/instances/${id}${path}`,
    headers: auth,
    ...(payload ? { payload } : {}),
  });

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
};

/** Opens a stream over real HTTP and reads its first event; the caller aborts it. */
async function openStream(instanceId: string, jobId: string) {
  const controller = new AbortController();
  const res = await fetch(`${base}/api/v2/instances/${instanceId}/sync/${jobId}/events`, {
    headers: auth,
    signal: controller.signal,
  });
  if (res.status === 200) {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('event: sync.progress');
  }
  return { res, close: () => controller.abort() };
}

describe('caps', () => {
  test('pending jobs per instance: past the setting a 429 with Retry-After and the limit; identical requests still answered', async () => {
    const set = await t.app.inject({
      method: 'PATCH',
      url: '/api/v2/settings',
      headers: auth,
      payload: { 'sync.maxPendingJobsPerInstance': 3 },
    });
    expect(set.statusCode).toBe(200);
    const jobs: string[] = [];
    for (const channelId of ['100000000000000001', '100000000000000002', '100000000000000003']) {
      const res = await post(a, '/sync', { type: 'messages', channelId });
      expect(res.statusCode).toBe(202);
      jobs.push(res.json().data.jobId);
    }
    const refused = await post(a, '/sync', { type: 'messages', channelId: '100000000000000004' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMITED');
    expect(refused.json().error.message).toContain('3 pending sync jobs');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const same = await post(a, '/sync', { type: 'messages', channelId: '100000000000000001' });
    expect(same.statusCode).toBe(202);
    expect(same.json().data.jobId).toBe(jobs[0] as string);
    // Another instance has its own queue.
    expect((await post(b, '/sync', { type: 'contacts' })).statusCode).toBe(202);
    // A cancelled job frees its place.
    await post(a, `/sync/${jobs[0]}/cancel`);
    expect((await post(a, '/sync', { type: 'messages', channelId: '100000000000000004' })).statusCode).toBe(
      202,
    );
    const pending = await t.db.db
      .selectFrom('sync_jobs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('instance_id', '=', a)
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    expect(Number(pending.n)).toBe(3);
  });

  test('event streams: per instance and in total, 429 past the caps, one subscription per job', async () => {
    await t.app.inject({
      method: 'PATCH',
      url: '/api/v2/settings',
      headers: auth,
      payload: { 'sync.maxPendingJobsPerInstance': 20 },
    });
    const jobA = (await post(a, '/sync', { type: 'groups' })).json().data.jobId as string;
    const jobB = (await post(b, '/sync', { type: 'groups' })).json().data.jobId as string;
    const before = subscribeCalls;
    const streamsA = [];
    for (let i = 0; i < 3; i++) {
      const s = await openStream(a, jobA);
      expect(s.res.status).toBe(200);
      streamsA.push(s);
    }
    expect(subscribeCalls - before).toBe(1);
    expect(t.app.jobEvents.followedJobs).toBe(1);

    const fourth = await openStream(a, jobA);
    expect(fourth.res.status).toBe(429);
    const body = (await fourth.res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RATE_LIMITED');
    expect(body.error.message).toContain('limit 3');
    expect(Number(fourth.res.headers.get('retry-after'))).toBeGreaterThan(0);

    const streamsB = [await openStream(b, jobB), await openStream(b, jobB)];
    for (const s of streamsB) expect(s.res.status).toBe(200);
    const overTotal = await openStream(b, jobB);
    expect(overTotal.res.status).toBe(429);
    expect(((await overTotal.res.json()) as { error: { message: string } }).error.message).toContain(
      'limit 5',
    );

    // A closed stream frees its slot; the last listener out closes the job's subscription.
    streamsA[0]?.close();
    await until(() => t.app.jobEvents.openStreamsOf(a) === 2);
    const again = await openStream(a, jobA);
    expect(again.res.status).toBe(200);
    for (const s of [...streamsA, again, ...streamsB]) s.close();
    await until(() => t.app.jobEvents.openStreams === 0);
    expect(t.app.jobEvents.followedJobs).toBe(0);
  });
});
