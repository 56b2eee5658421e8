/**
 * The little of `pg` the benchmarks use, loaded from @omni/db's dependencies (bench/ is not a
 * workspace, so it has no node_modules of its own).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** A connected client. */
export interface PgClient {
  connect(): Promise<void>;
  query<R = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  query<R = Record<string, unknown>>(config: {
    name?: string;
    text: string;
    values?: unknown[];
  }): Promise<{ rows: R[]; rowCount: number | null }>;
  end(): Promise<void>;
}

interface PgModule {
  Client: new (config: { connectionString: string }) => PgClient;
}

const require = createRequire(join(import.meta.dir, '../../packages/db/package.json'));
const pg = require('pg') as PgModule;

/** Opens a client on `url`. */
export async function connect(url: string): Promise<PgClient> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
