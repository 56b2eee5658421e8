import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsEventBus } from '../../src/events/nats-event-bus.ts';
import type { SyncEvent } from '../../src/events/sync-event.ts';
import { natsConnect, natsNames, until } from '../helpers.ts';

let nc: NatsConnection;
beforeAll(async () => {
  nc = await natsConnect();
}, 60_000);
afterAll(async () => {
  await nc.close();
}, 60_000);

test('events travel on subjects carrying instance and job id; filters apply', async () => {
  const { eventPrefix } = natsNames();
  const bus = new NatsEventBus(nc, eventPrefix);
  const forJob: SyncEvent[] = [];
  const forInstance: SyncEvent[] = [];
  const raw: string[] = [];
  const rawSub = nc.subscribe(`${eventPrefix}.>`, {
    callback: (_e, m) => {
      raw.push(m.subject);
    },
  });
  const a = await bus.subscribe({ jobId: 'job-1' }, (e) => forJob.push(e));
  const b = await bus.subscribe({ instanceId: 'inst-2' }, (e) => forInstance.push(e));
  const at = new Date().toISOString();
  await bus.publish({ type: 'sync.started', instanceId: 'inst-1', jobId: 'job-1', at, status: 'running' });
  await bus.publish({ type: 'sync.progress', instanceId: 'inst-2', jobId: 'job-2', at, status: 'running' });
  await bus.publish({
    type: 'sync.completed',
    instanceId: 'inst-1',
    jobId: 'job-1',
    at,
    status: 'completed',
  });
  await until(() => forJob.length === 2 && forInstance.length === 1 && raw.length === 3);
  expect(forJob.map((e) => e.type)).toEqual(['sync.started', 'sync.completed']);
  expect(forInstance[0]?.jobId).toBe('job-2');
  expect(raw).toContain(`${eventPrefix}.inst-1.job-1.started`);
  await a.close();
  await b.close();
  rawSub.unsubscribe();
});
