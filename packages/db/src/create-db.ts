import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { type ListenChanges, pgliteListen, postgresListen } from './change-feed.ts';
import { DbError } from './db-error.ts';
import { migrateToLatest } from './migrate.ts';
import type { RunPrepared } from './prepared-statement.ts';
import { type PreparedRunner, pgliteRunner, postgresRunner } from './prepared-statement.ts';
import { ensurePrivateDir } from './private-dir.ts';
import type { Database } from './schema.ts';

/** Which engine a {@link OmniDb} runs on. */
export type DbEngine = 'postgres' | 'pglite';

/** Options of {@link createDb}. */
export interface CreateDbOptions {
  /**
   * Postgres connection string. When absent the embedded PGlite engine is used.
   * @defaultValue `process.env.DATABASE_URL`
   */
  databaseUrl?: string | undefined;
  /**
   * Folder for embedded data; PGlite lives in `{dataDir}/db`. `':memory:'` keeps PGlite in memory.
   * @defaultValue `process.env.DATA_DIR ?? './data'`
   */
  dataDir?: string;
  /**
   * Apply pending migrations before returning.
   * @defaultValue true
   */
  migrate?: boolean;
  /**
   * Size of the `pg` pool (Postgres only).
   * @defaultValue 10
   */
  poolSize?: number;
  /**
   * Connections of the pool that runs {@link OmniDb.prepared} statements (Postgres only; opened
   * when first used, closed after 30 s idle).
   * @defaultValue 4
   */
  preparedPoolSize?: number;
}

/** An open database: the Kysely handle, which engine it is, and how to close it. */
export interface OmniDb {
  db: Kysely<Database>;
  engine: DbEngine;
  /**
   * Runs a named statement: parsed (and, once its generic plan is as cheap, planned) once per
   * pooled connection on Postgres; on PGlite an ordinary parameterised query.
   */
  prepared: RunPrepared;
  /**
   * Subscribes to a notification channel (`LISTEN`): on Postgres over a connection of its own that
   * reconnects by itself, on PGlite in process. The subscriber closes what it opened.
   */
  listen: ListenChanges;
  /** `ok` when a trivial query answers; used by health checks. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Parses int8 and numeric as JS numbers (counts fit easily; avoids strings leaking out). */
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Opens the database: Postgres through `pg` when a URL is given (and Bun's SQL client for
 * {@link OmniDb.prepared} statements), else embedded PGlite under
 * `{dataDir}/db`. Migrations are applied unless `migrate: false`.
 *
 * @example
 * ```ts
 * const { db, close } = await createDb();               // embedded, ./data/db
 * const pgDb = await createDb({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/test' });
 * ```
 */
export async function createDb(options: CreateDbOptions = {}): Promise<OmniDb> {
  const databaseUrl = 'databaseUrl' in options ? options.databaseUrl : process.env.DATABASE_URL;
  const dataDir = options.dataDir ?? process.env.DATA_DIR ?? './data';
  let db: Kysely<Database>;
  let engine: DbEngine;
  let prepared: PreparedRunner;
  let listen: ListenChanges;
  if (databaseUrl) {
    engine = 'postgres';
    const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize ?? 10 });
    // A connection that dies (Postgres restarted) must not crash the process: idle clients report
    // on the pool, checked-out ones on themselves; their pending queries reject on their own.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    prepared = postgresRunner(databaseUrl, options.preparedPoolSize ?? 4);
    listen = postgresListen(databaseUrl);
  } else {
    engine = 'pglite';
    let pglite: PGlite;
    if (dataDir === ':memory:') {
      pglite = new PGlite();
    } else {
      const dir = resolve(join(dataDir, 'db'));
      ensurePrivateDir(resolve(dataDir));
      ensurePrivateDir(dir);
      pglite = new PGlite(dir);
    }
    db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    prepared = pgliteRunner(pglite);
    listen = pgliteListen(pglite);
  }
  const destroy = async () => {
    await db.destroy();
    await prepared.close();
  };
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await destroy().catch(() => {});
    throw new DbError('CONNECT_FAILED', `cannot open the ${engine} database`, { cause: error });
  }
  if (options.migrate !== false) {
    try {
      await migrateToLatest(db);
    } catch (error) {
      await destroy().catch(() => {});
      throw error;
    }
  }
  return {
    db,
    engine,
    prepared: prepared.run,
    listen,
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: destroy,
  };
}
