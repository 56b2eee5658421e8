import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type DbEngine, type OmniDb } from './create-db.ts';

/** The Postgres used by integration tests. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A throw-away database for one test file; `close()` drops it. */
export interface TestDb extends OmniDb {
  /** The connection string of the throw-away database (Postgres only). */
  url: string | undefined;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an isolated, migrated database: a fresh Postgres database named `omni_t_<random>` on
 * the local server, or an in-memory PGlite. Test files never share one, so they can run in parallel.
 */
export async function createTestDb(
  engine: DbEngine = 'postgres',
  options: { migrate?: boolean } = {},
): Promise<TestDb> {
  if (engine === 'pglite') {
    const inner = await createDb({
      databaseUrl: undefined,
      dataDir: ':memory:',
      migrate: options.migrate ?? true,
    });
    return { ...inner, url: undefined };
  }
  const name = `omni_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const inner = await createDb({ databaseUrl: url.toString(), migrate: options.migrate ?? true });
  return {
    ...inner,
    url: url.toString(),
    close: async () => {
      await inner.close();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** The engines every database test runs on. */
export const TEST_ENGINES: readonly DbEngine[] = ['postgres', 'pglite'];
