import { type CredentialCipher, type Database, type Instance, SettingsService, toJson } from '@omni/db';
import {
  type ChannelProfile,
  type Logger,
  PermanentError,
  PluginContextFactory,
  type PluginRegistry,
  type RateLimiter,
} from '@omni/sync-core';
import { type Kysely, sql } from 'kysely';
import { createRateLimiter } from '../runtime/create-rate-limiter.ts';

/** Options of {@link ProfileSyncService.refreshStale}. */
export interface RefreshStaleOptions {
  /**
   * Profiles synced longer ago than this (or never) are refreshed.
   * @defaultValue 86_400_000 (24 h)
   */
  maxAgeMs?: number;
}

/** Result of a bulk refresh. */
export interface RefreshResult {
  refreshed: number;
  failed: { instanceId: string; message: string }[];
}

/**
 * Reads the connected account's profile through its plugin and stores it in the instance's
 * profile columns. Used on connect, by `POST /sync/profile`, at start-up for stale profiles and by
 * the scheduler.
 */
export class ProfileSyncService {
  readonly #db: Kysely<Database>;
  readonly #cipher: CredentialCipher;
  readonly #plugins: PluginRegistry;
  readonly #log: Logger;
  readonly #contexts: PluginContextFactory;
  readonly #timeoutMs = 20_000;

  /**
   * @param limiter paces the profile requests (`profile` bucket of the instance's platform
   *   identity); defaults to one reading the rates from the settings table and sharing the
   *   budget through the database (pass the process's `Services.limiter`)
   */
  constructor(
    db: Kysely<Database>,
    cipher: CredentialCipher,
    plugins: PluginRegistry,
    log: Logger,
    limiter: RateLimiter = createRateLimiter(db, new SettingsService(db)),
  ) {
    this.#db = db;
    this.#cipher = cipher;
    this.#plugins = plugins;
    this.#log = log;
    this.#contexts = new PluginContextFactory({ limiter, cipher, logger: log });
  }

  /** Fetches the profile of `instance` with explicit credentials, without storing anything. */
  async fetchProfile(instance: Instance, credentials?: Record<string, string>): Promise<ChannelProfile> {
    if (!this.#plugins.has(instance.channel)) {
      throw new PermanentError(`channel ${instance.channel} is not installed in this process`);
    }
    const plugin = this.#plugins.get(instance.channel);
    const row = credentials
      ? { ...instance, credentials: this.#cipher.encryptJson(credentials, instance.id) }
      : instance;
    if (!row.credentials && row.connection_state !== 'open') {
      throw new PermanentError(`instance ${instance.id} is not connected`);
    }
    return plugin.getProfile(this.#contexts.create(row, { signal: AbortSignal.timeout(this.#timeoutMs) }));
  }

  /** Stores a profile on the instance row and returns the row. */
  async storeProfile(instanceId: string, profile: ChannelProfile): Promise<Instance> {
    return this.#db
      .updateTable('instances')
      .set({
        profile_name: profile.name,
        profile_pic_url: profile.avatarUrl,
        profile_bio: profile.bio,
        profile_metadata: toJson(profile.platformMetadata),
        owner_identifier: sql`coalesce(${profile.ownerIdentifier}, owner_identifier)`,
        profile_synced_at: sql`now()`,
        updated_at: sql`now()`,
      })
      .where('id', '=', instanceId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Fetches and stores the profile of a connected instance. */
  async syncProfile(instanceId: string): Promise<Instance> {
    const instance = await this.#db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', instanceId)
      .executeTakeFirstOrThrow();
    return this.storeProfile(instanceId, await this.fetchProfile(instance));
  }

  /** Refreshes every connected, active instance whose profile is older than `maxAgeMs`. */
  async refreshStale(options: RefreshStaleOptions = {}): Promise<RefreshResult> {
    const maxAgeMs = options.maxAgeMs ?? 86_400_000;
    const cutoff = new Date(Date.now() - maxAgeMs);
    const stale = await this.#db
      .selectFrom('instances')
      .select('id')
      .where('is_active', '=', true)
      .where('credentials', 'is not', null)
      .where((eb) => eb.or([eb('profile_synced_at', 'is', null), eb('profile_synced_at', '<', cutoff)]))
      .execute();
    const result: RefreshResult = { refreshed: 0, failed: [] };
    for (const { id } of stale) {
      try {
        await this.syncProfile(id);
        result.refreshed += 1;
      } catch (error) {
        const message = (error as Error).message;
        this.#log.warn({ instanceId: id, err: error }, 'profile refresh failed');
        result.failed.push({ instanceId: id, message });
      }
    }
    return result;
  }
}
