import { randomUUID } from 'node:crypto';
import type { DbEngine } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';

let pglite: Promise<TestDb> | null = null;

/**
 * A database for one test file: a fresh Postgres database (dropped by `close()`), or the one
 * in-memory PGlite shared by every test file of the run (its cold start costs seconds; `bun test`
 * runs files in one process, one after the other). Tests must therefore use unique names.
 */
export function testDb(engine: DbEngine): Promise<TestDb> {
  if (engine === 'postgres') return createTestDb('postgres');
  pglite ??= createTestDb('pglite');
  return pglite.then((db) => ({ ...db, close: async () => {} }));
}

/**
 * Closes the shared PGlite. Run once after every test file (see `test/support/preload.ts`): an
 * embedded Postgres left open makes the process exit with PGlite's status 99.
 */
export async function closeSharedDb(): Promise<void> {
  const shared = pglite;
  pglite = null;
  if (shared) await (await shared).close();
}

/** Inserts an instance with a unique name and returns its id. */
export async function newInstance(
  t: TestDb,
  channel: 'discord' | 'whatsapp-baileys' = 'discord',
  extra: { download_media_on_sync?: boolean } = {},
): Promise<string> {
  const row = await t.db
    .insertInto('instances')
    .values({ name: `test-${randomUUID()}`, channel, ...extra })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
