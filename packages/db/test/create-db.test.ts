import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, DbError } from '../src/index.ts';
import { TEST_DATABASE_URL } from '../src/testing.ts';

describe('createDb', () => {
  test('embedded PGlite under {dataDir}/db persists across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-pglite-'));
    try {
      const first = await createDb({ databaseUrl: undefined, dataDir: dir });
      expect(first.engine).toBe('pglite');
      await first.db.insertInto('instances').values({ name: 'persisted', channel: 'discord' }).execute();
      await first.close();
      const second = await createDb({ databaseUrl: undefined, dataDir: dir });
      const rows = await second.db.selectFrom('instances').select('name').execute();
      expect(rows.map((r) => r.name)).toEqual(['persisted']);
      expect(await second.ping()).toBe(true);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('DATABASE_URL selects Postgres', async () => {
    const omni = await createDb({ databaseUrl: TEST_DATABASE_URL, migrate: false });
    expect(omni.engine).toBe('postgres');
    expect(await omni.ping()).toBe(true);
    await omni.close();
  });

  test('an unreachable Postgres fails with CONNECT_FAILED', async () => {
    const error = await createDb({
      databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
      migrate: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DbError);
    expect((error as DbError).code).toBe('CONNECT_FAILED');
  });
});
