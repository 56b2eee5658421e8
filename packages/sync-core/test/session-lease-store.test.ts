import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import { SessionLeaseStore } from '../src/index.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`SessionLeaseStore on ${engine}`, () => {
    let t: TestDb;
    let leases: SessionLeaseStore;
    const newInstance = () => createInstance(t, 'whatsapp-baileys');
    const expire = (id: string) =>
      t.db
        .updateTable('channel_sessions')
        .set({ expires_at: sql`now() - interval '1 second'` })
        .where('instance_id', '=', id)
        .execute();
    beforeAll(async () => {
      t = await testDb(engine);
      leases = new SessionLeaseStore(t.db);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('a second acquire while held fails; the holder re-acquires and renews', async () => {
      const id = await newInstance();
      expect(await leases.acquire(id, 'worker-a', 60_000)).toBe(true);
      expect(await leases.acquire(id, 'worker-b', 60_000)).toBe(false);
      expect(await leases.renew(id, 'worker-b', 60_000)).toBe(false);
      expect(await leases.acquire(id, 'worker-a', 60_000)).toBe(true);
      expect(await leases.renew(id, 'worker-a', 120_000)).toBe(true);
      const lease = await leases.get(id);
      expect(lease?.owner).toBe('worker-a');
      expect(lease?.instanceId).toBe(id);
    });

    test('an expired lease is taken over; the old holder can no longer renew', async () => {
      const id = await newInstance();
      expect(await leases.acquire(id, 'worker-a', 60_000)).toBe(true);
      await expire(id);
      expect(await leases.acquire(id, 'worker-b', 60_000)).toBe(true);
      expect(await leases.renew(id, 'worker-a', 60_000)).toBe(false);
      expect((await leases.get(id))?.owner).toBe('worker-b');
    });

    test('release frees the lease only for its holder; deleting the instance removes it', async () => {
      const id = await newInstance();
      expect(await leases.acquire(id, 'worker-a', 60_000)).toBe(true);
      await leases.release(id, 'worker-b');
      expect((await leases.get(id))?.owner).toBe('worker-a');
      await leases.release(id, 'worker-a');
      expect(await leases.get(id)).toBeNull();
      expect(await leases.acquire(id, 'worker-b', 60_000)).toBe(true);
      await t.db.deleteFrom('instances').where('id', '=', id).execute();
      expect(await leases.get(id)).toBeNull();
    });

    test('concurrent acquires: exactly one wins', async () => {
      const id = await newInstance();
      const won = await Promise.all(
        ['w1', 'w2', 'w3', 'w4'].map((owner) => leases.acquire(id, owner, 60_000)),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
    });
  });
}
