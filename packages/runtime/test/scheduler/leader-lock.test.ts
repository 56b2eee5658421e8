import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createDb, type OmniDb } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { PgLeaseLock } from '../../src/scheduler/leader-lock.ts';
import { until } from '../helpers.ts';

let db: TestDb;
let other: OmniDb;

beforeAll(async () => {
  db = await createTestDb('postgres');
  other = await createDb({ databaseUrl: db.url, migrate: false });
}, 60_000);
afterAll(async () => {
  await other.close();
  await db.close();
}, 60_000);

test('exactly one process leads; when it releases, another takes over', async () => {
  const a = new PgLeaseLock(db.db, { owner: 'a', name: 'release', ttlMs: 60_000 });
  const b = new PgLeaseLock(other.db, { owner: 'b', name: 'release', ttlMs: 60_000 });
  expect(await a.tryAcquire()).toBe(true);
  expect(await b.tryAcquire()).toBe(false);
  expect(a.held).toBe(true);
  expect(b.held).toBe(false);
  await a.release();
  expect(a.held).toBe(false);
  expect(await b.tryAcquire()).toBe(true);
  expect(await a.tryAcquire()).toBe(false);
  await b.release();
});

test('a leader that stops renewing loses the lease to another process after the ttl, and cannot take it back', async () => {
  // `a` renews far less often than its lease lasts: as a frozen process would, it stops renewing.
  const a = new PgLeaseLock(db.db, { owner: 'a', name: 'frozen', ttlMs: 400, renewMs: 600_000 });
  const b = new PgLeaseLock(other.db, { owner: 'b', name: 'frozen', ttlMs: 60_000 });
  expect(await a.tryAcquire()).toBe(true);
  expect(await b.tryAcquire()).toBe(false);
  await until(async () => b.tryAcquire());
  expect(b.held).toBe(true);
  expect(a.held).toBe(false);
  expect(await a.tryAcquire()).toBe(false);
  const row = await db.db
    .selectFrom('leader_leases')
    .selectAll()
    .where('name', '=', 'frozen')
    .executeTakeFirst();
  expect(row?.owner).toBe('b');
  await a.release();
  await b.release();
});
