import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createDb, type OmniDb } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { PgAdvisoryLock } from '../../src/scheduler/leader-lock.ts';

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
  const a = new PgAdvisoryLock(db.db, { key: 4242 });
  const b = new PgAdvisoryLock(other.db, { key: 4242 });
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
