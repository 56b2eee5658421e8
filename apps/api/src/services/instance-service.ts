import type { Database, Instance } from '@omni/db';
import { type Kysely, sql } from 'kysely';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../errors/api-error.ts';
import { decodeCursor, encodeCursor } from './mappers.ts';

/** Instance CRUD and connection, as the routes use them. */
export class InstanceService {
  readonly #deps: AppDeps;

  constructor(deps: AppDeps) {
    this.#deps = deps;
  }

  get #db(): Kysely<Database> {
    return this.#deps.db.db;
  }

  /** The instance, or a 404. */
  async get(id: string): Promise<Instance> {
    const row = await this.#db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw ApiError.notFound('instance', id);
    return row;
  }

  /** Creates an instance; a taken name is a 409. */
  async create(input: {
    name: string;
    channel: Instance['channel'];
    downloadMediaOnSync?: boolean | undefined;
  }) {
    const taken = await this.#db
      .selectFrom('instances')
      .select('id')
      .where('name', '=', input.name)
      .executeTakeFirst();
    if (taken) throw ApiError.conflict(`an instance named "${input.name}" already exists`, { id: taken.id });
    return this.#db
      .insertInto('instances')
      .values({
        name: input.name,
        channel: input.channel,
        download_media_on_sync: input.downloadMediaOnSync ?? false,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** A page of instances, oldest first. */
  async list(limit: number, cursor: string | undefined) {
    let query = this.#db
      .selectFrom('instances')
      .selectAll()
      .select(sql<string>`created_at::text`.as('created_text'));
    if (cursor) {
      const parts = decodeCursor(cursor, 2);
      if (!parts) throw ApiError.validation('malformed cursor', [{ in: 'querystring', path: '/cursor' }]);
      query = query.where(sql<boolean>`(created_at, id) > (${parts[0]}::timestamptz, ${parts[1]}::uuid)`);
    }
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(({ created_text: _, ...row }) => row as Instance),
      hasMore,
      cursor: hasMore && last ? encodeCursor([last.created_text, last.id]) : null,
    };
  }

  /** Updates name, media download flag or active flag. */
  async update(id: string, patch: { name?: string; downloadMediaOnSync?: boolean; isActive?: boolean }) {
    await this.get(id);
    if (patch.name !== undefined) {
      const taken = await this.#db
        .selectFrom('instances')
        .select('id')
        .where('name', '=', patch.name)
        .where('id', '!=', id)
        .executeTakeFirst();
      if (taken)
        throw ApiError.conflict(`an instance named "${patch.name}" already exists`, { id: taken.id });
    }
    return this.#db
      .updateTable('instances')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.downloadMediaOnSync !== undefined
          ? { download_media_on_sync: patch.downloadMediaOnSync }
          : {}),
        ...(patch.isActive !== undefined ? { is_active: patch.isActive } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Deletes an instance and everything synced for it; refused (409) while a job runs. */
  async remove(id: string): Promise<void> {
    await this.get(id);
    const running = await this.#db
      .selectFrom('sync_jobs')
      .select('id')
      .where('instance_id', '=', id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (running) {
      throw ApiError.conflict('a sync job is running for this instance: cancel it first', {
        jobId: running.id,
      });
    }
    await this.#db.deleteFrom('instances').where('id', '=', id).execute();
  }

  /**
   * Connects a token-based channel (Discord): validates the token by reading the profile, stores
   * the token encrypted, stores the profile.
   */
  async connect(id: string, token: string): Promise<Instance> {
    const instance = await this.get(id);
    if (instance.channel !== 'discord') {
      throw ApiError.unprocessable(
        `${instance.channel} instances are linked by QR code or pairing code, not a token`,
      );
    }
    if (!this.#deps.plugins.has(instance.channel)) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', `the ${instance.channel} channel is not installed`);
    }
    const credentials = { token };
    const profile = await this.#deps.profiles.fetchProfile(instance, credentials);
    await this.#db
      .updateTable('instances')
      .set({
        credentials: this.#deps.cipher.encryptJson(credentials),
        connection_state: 'open',
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute();
    return this.#deps.profiles.storeProfile(id, profile);
  }

  /** Forgets the credentials. */
  async disconnect(id: string): Promise<Instance> {
    await this.get(id);
    return this.#db
      .updateTable('instances')
      .set({ credentials: null, connection_state: 'disconnected', updated_at: sql`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** True when the instance can be synced. */
  static isConnected(instance: Instance): boolean {
    return instance.credentials !== null || instance.connection_state === 'open';
  }
}
