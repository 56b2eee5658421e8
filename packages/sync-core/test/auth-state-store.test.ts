import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CredentialCipher } from '@omni/db';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { PostgresAuthStateStore } from '../src/index.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`PostgresAuthStateStore on ${engine}`, () => {
    let t: TestDb;
    const cipher = new CredentialCipher('11'.repeat(32));
    const newInstance = () => createInstance(t, 'whatsapp-baileys');
    beforeAll(async () => {
      t = await testDb(engine);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('values are encrypted at rest, read back, overwritten, deleted', async () => {
      const id = await newInstance();
      const store = new PostgresAuthStateStore(t.db, cipher);
      await store.write(
        id,
        new Map([
          ['creds', '{"me":{"id":"1@s.whatsapp.net"}}'],
          ['session:a.0', '{"x":1}'],
        ]),
      );
      const raw = await t.db
        .selectFrom('whatsapp_auth')
        .select(['key', 'value'])
        .where('instance_id', '=', id)
        .execute();
      expect(raw).toHaveLength(2);
      for (const row of raw) {
        expect(row.value.startsWith('v2:')).toBe(true);
        expect(row.value).not.toContain('whatsapp.net');
      }
      expect(await store.read(id, ['creds', 'session:a.0', 'missing'])).toEqual(
        new Map([
          ['creds', '{"me":{"id":"1@s.whatsapp.net"}}'],
          ['session:a.0', '{"x":1}'],
        ]),
      );
      await store.write(
        id,
        new Map([
          ['creds', '{"v":2}'],
          ['session:a.0', null],
        ]),
      );
      expect(await store.read(id, ['creds', 'session:a.0'])).toEqual(new Map([['creds', '{"v":2}']]));
      const other = await newInstance();
      expect((await store.read(other, ['creds'])).size).toBe(0);
      await store.clear(id);
      expect((await store.read(id, ['creds'])).size).toBe(0);
    });

    test('a wrong key cannot read the values', async () => {
      const id = await newInstance();
      await new PostgresAuthStateStore(t.db, cipher).write(id, new Map([['creds', 'secret']]));
      const wrong = new PostgresAuthStateStore(t.db, new CredentialCipher('22'.repeat(32)));
      await expect(wrong.read(id, ['creds'])).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
    });
  });
}
