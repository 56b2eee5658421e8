import { afterAll, beforeAll, expect, test } from 'bun:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobDelivery } from '../../src/queue/job-queue.ts';
import { NatsJobQueue } from '../../src/queue/nats/nats-queue.ts';
import { natsConnect, natsNames, until } from '../helpers.ts';

let nc: NatsConnection;
let queue: NatsJobQueue;

beforeAll(async () => {
  nc = await natsConnect();
  const names = natsNames();
  queue = new NatsJobQueue(nc, { ...names, ackWaitMs: 2_000 });
  await queue.ensure();
}, 60_000);
afterAll(async () => {
  await queue.close();
  await queue.destroy();
  await nc.close();
}, 60_000);

test('delivers each ticket, redelivers a retried one, never exceeds the concurrency', async () => {
  const seen: { jobId: string; count: number }[] = [];
  let active = 0;
  let maxActive = 0;
  const consumer = await queue.consume(
    async (d: JobDelivery) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      seen.push({ jobId: d.ticket.jobId, count: d.deliveryCount });
      await new Promise((r) => setTimeout(r, 30));
      active -= 1;
      if (d.ticket.jobId === 'retry-me' && d.deliveryCount === 1) await d.retry(0);
      else await d.ack();
    },
    { concurrency: 2 },
  );
  for (const id of ['a', 'b', 'c', 'retry-me']) await queue.dispatch({ jobId: id, instanceId: 'i1' });
  await until(() => seen.length >= 5);
  await consumer.stop();
  expect([...new Set(seen.map((s) => s.jobId))].sort()).toEqual(['a', 'b', 'c', 'retry-me']);
  expect(seen.filter((s) => s.jobId === 'retry-me').length).toBeGreaterThanOrEqual(2);
  expect(seen.find((s) => s.jobId === 'retry-me' && s.count > 1)).toBeDefined();
  expect(maxActive).toBeLessThanOrEqual(2);
  expect(await queue.ping()).toBe(true);
});

test('a ticket neither acked nor retried is redelivered after the ack wait', async () => {
  const deliveries: number[] = [];
  let hold: JobDelivery | null = null;
  const consumer = await queue.consume(
    async (d) => {
      if (d.ticket.jobId !== 'crash') return d.ack();
      deliveries.push(d.deliveryCount);
      if (d.deliveryCount === 1) {
        hold = d; // "worker died": neither ack nor retry
        return;
      }
      await d.ack();
    },
    { concurrency: 1 },
  );
  await queue.dispatch({ jobId: 'crash', instanceId: 'i2' });
  await until(() => deliveries.some((n) => n > 1));
  await consumer.stop();
  expect(deliveries[0]).toBe(1);
  expect(hold).not.toBeNull();
});

test('ensure() sets the durable consumer to the configured ack wait (NATS_ACK_WAIT_MS), also on an existing one', async () => {
  const jsm = await jetstreamManager(nc);
  const names = natsNames();
  const first = new NatsJobQueue(nc, { ...names, ackWaitMs: 30_000 });
  await first.ensure();
  try {
    expect((await jsm.consumers.info(names.stream, names.durable)).config.ack_wait).toBe(30_000 * 1e6);
    // A process configured with another ack wait (e.g. after a settings change) updates the consumer.
    await new NatsJobQueue(nc, { ...names, ackWaitMs: 3_000 }).ensure();
    expect((await jsm.consumers.info(names.stream, names.durable)).config.ack_wait).toBe(3_000 * 1e6);
  } finally {
    await first.destroy();
  }
});
