import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { DbError } from './db-error.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';

/** Outcome of {@link migrateToLatest}: names of migrations applied by this call. */
export interface MigrateResult {
  applied: string[];
}

/**
 * Applies every pending migration. Idempotent: a second call applies nothing.
 * Concurrent callers on Postgres are serialised by Kysely's migration lock.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrateResult> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    throw new DbError('MIGRATION_FAILED', 'database migration failed', { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
