import type { Database } from '@omni/db';
import { type Kysely, sql } from 'kysely';

/** Who holds a channel session, until when. */
export interface SessionLease {
  instanceId: string;
  owner: string;
  /** UTC ms after which another process may take the session over. */
  expiresAt: number;
}

/**
 * Leases on live channel sessions in the `channel_sessions` table: one row per instance, naming
 * the process that holds its socket. A process opens a socket only while it holds the lease,
 * renews it well before it expires, and releases it when the socket closes for good. A holder that
 * died stops renewing; once its lease expired, another process takes it over.
 *
 * @example
 * ```ts
 * const leases = new SessionLeaseStore(db);
 * if (await leases.acquire(instanceId, workerId, 30_000)) await plugin.connect(instanceId);
 * ```
 */
export class SessionLeaseStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Takes the lease for `ttlMs` if it is free, expired, or already `owner`'s; atomic (one upsert).
   * @returns true when `owner` holds the lease afterwards
   */
  async acquire(instanceId: string, owner: string, ttlMs: number): Promise<boolean> {
    const row = await this.#db
      .insertInto('channel_sessions')
      .values({ instance_id: instanceId, owner, expires_at: expiry(ttlMs) })
      .onConflict((oc) =>
        oc
          .column('instance_id')
          .doUpdateSet({
            owner: (eb) => eb.ref('excluded.owner'),
            expires_at: (eb) => eb.ref('excluded.expires_at'),
            updated_at: sql`now()`,
          })
          .where((eb) =>
            eb.or([
              eb('channel_sessions.expires_at', '<', sql<Date>`now()`),
              eb('channel_sessions.owner', '=', eb.ref('excluded.owner')),
            ]),
          ),
      )
      .returning('owner')
      .executeTakeFirst();
    return row?.owner === owner;
  }

  /**
   * Extends `owner`'s lease by `ttlMs` from now.
   * @returns false when `owner` no longer holds it (released, or taken over after expiring)
   */
  async renew(instanceId: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('channel_sessions')
      .set({ expires_at: expiry(ttlMs), updated_at: sql`now()` })
      .where('instance_id', '=', instanceId)
      .where('owner', '=', owner)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Gives the lease up, if `owner` holds it. */
  async release(instanceId: string, owner: string): Promise<void> {
    await this.#db
      .deleteFrom('channel_sessions')
      .where('instance_id', '=', instanceId)
      .where('owner', '=', owner)
      .execute();
  }

  /** The current lease of an instance, expired or not; `null` when nobody ever held it or it was released. */
  async get(instanceId: string): Promise<SessionLease | null> {
    const row = await this.#db
      .selectFrom('channel_sessions')
      .select(['instance_id', 'owner', 'expires_at'])
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    return row
      ? { instanceId: row.instance_id, owner: row.owner, expiresAt: new Date(row.expires_at).getTime() }
      : null;
  }
}

const expiry = (ttlMs: number) =>
  sql<Date>`now() + ${Math.max(0, Math.round(ttlMs))} * interval '1 millisecond'`;
