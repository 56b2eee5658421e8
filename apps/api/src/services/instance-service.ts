import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { hasWhatsAppConnection } from '@omni/channel-whatsapp/light';
import type { Database, Instance } from '@omni/db';
import { CatchupTrigger, LocalWhatsAppGateway, type WhatsAppGateway } from '@omni/runtime';
import { instanceId, type Logger, validatesChatIds } from '@omni/sync-core';
import { type Kysely, sql } from 'kysely';
import type { AppDeps } from '../app-deps.ts';
import { ApiError } from '../errors/api-error.ts';
import { decodeCursor, keysetPage, malformedCursor } from './mappers.ts';

/** How each channel's chat ids look, for error messages. */
const CHAT_ID_FORMS: Record<string, string> = {
  discord: 'a snowflake such as 1098765432109876543',
  'whatsapp-baileys': 'a JID such as 15550001111@s.whatsapp.net or 1203630@g.us',
};

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
    /** Omni's instance fields, stored and echoed (see `OmniInstanceFields`). */
    omni?: Record<string, unknown>;
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
        omni_config: JSON.stringify(input.omni ?? {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** A page of instances, oldest first, optionally only of some channels and active states. */
  async list(
    limit: number,
    cursor: string | undefined,
    filter: { channels?: readonly string[]; active?: readonly boolean[] } = {},
  ) {
    let query = this.#db
      .selectFrom('instances')
      .selectAll()
      .select(sql<string>`created_at::text`.as('created_text'));
    if (filter.channels && filter.channels.length > 0) {
      query = query.where('channel', 'in', filter.channels as Instance['channel'][]);
    }
    if (filter.active && filter.active.length > 0) query = query.where('is_active', 'in', [...filter.active]);
    if (cursor) {
      const parts = decodeCursor(cursor, ['timestamp', 'uuid']);
      if (!parts) throw malformedCursor();
      query = query.where(sql<boolean>`(created_at, id) > (${parts[0]}::timestamptz, ${parts[1]}::uuid)`);
    }
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    const { page, hasMore, cursor: next } = keysetPage(rows, limit, (last) => [last.created_text, last.id]);
    return {
      items: page.map(({ created_text: _, ...row }) => row as Instance),
      hasMore,
      cursor: next,
    };
  }

  /** Updates name, media download flag, active flag or Omni's instance fields (merged). */
  async update(
    id: string,
    patch: {
      name?: string;
      downloadMediaOnSync?: boolean;
      isActive?: boolean;
      omni?: Record<string, unknown>;
    },
  ) {
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
        ...(patch.omni && Object.keys(patch.omni).length > 0
          ? { omni_config: sql`omni_config || ${JSON.stringify(patch.omni)}::jsonb` as unknown as string }
          : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Deletes an instance and everything it holds; refused (409) while a job runs. A WhatsApp
   * device is logged out and its socket closed first (wherever the session runs); the media
   * folder is moved out of the served tree at once (nothing of it is served afterwards) and
   * removed in the background; the row's deletion takes the stored credentials, the WhatsApp auth
   * state and every synced row with it.
   */
  async remove(id: string, log: Pick<Logger, 'warn'> = { warn() {} }): Promise<void> {
    const instance = await this.get(id);
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
    if (instance.channel === 'whatsapp-baileys') {
      const gateway = this.#gateway();
      // Unreachable WhatsApp does not keep an instance alive: its auth state is deleted with it,
      // so the link cannot be used again; the phone lists the device until it is removed there.
      if (gateway) {
        await gateway
          .logout(instanceId(id))
          .catch((err: unknown) => log.warn({ err, instanceId: id }, 'WhatsApp logout on delete failed'));
      } else {
        log.warn({ instanceId: id }, 'WhatsApp is not running here: the device was not logged out');
      }
    }
    const trash = await this.#moveMediaAside(id);
    await this.#db.deleteFrom('instances').where('id', '=', id).execute();
    if (trash) {
      void rm(trash, { recursive: true, force: true }).catch((err: unknown) =>
        log.warn({ err, instanceId: id }, 'removing the media of a deleted instance failed'),
      );
    }
  }

  /**
   * Renames `{media}/{id}` to a hidden sibling (one atomic step: the media route addresses only
   * `{media}/{uuid}/…`), or `null` when the instance has no media folder.
   */
  async #moveMediaAside(id: string): Promise<string | null> {
    const root = resolve(await this.#deps.settings.get('media.storagePath'));
    const folder = join(root, id);
    const trash = join(root, `.deleted-${id}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(folder, trash);
      return trash;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      // Could not move it (another file system, permissions): remove it in place before the row.
      await rm(folder, { recursive: true, force: true });
      return null;
    }
  }

  /**
   * Connects an instance. Token channels (Discord, Slack): validates the token by reading the
   * profile, stores the token encrypted, stores the profile. WhatsApp: starts the socket; the phone links by QR or pairing
   * code, and the profile is synced when the session opens.
   */
  async connect(id: string, token: string | undefined): Promise<Instance> {
    const instance = await this.get(id);
    if (instance.channel === 'whatsapp-baileys') {
      const state = await this.whatsapp().connect(instanceId(id));
      await this.#queueCatchup(id);
      return this.#setState(id, state.status === 'idle' ? 'disconnected' : state.status);
    }
    if (!token)
      throw ApiError.validation(`a ${instance.channel} instance connects with a token`, [
        { in: 'body', path: '/token' },
      ]);
    if (!this.#deps.plugins.has(instance.channel)) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', `the ${instance.channel} channel is not installed`);
    }
    const credentials = { token };
    const profile = await this.#deps.profiles.fetchProfile(instance, credentials);
    await this.#db
      .updateTable('instances')
      .set({
        credentials: this.#deps.cipher.encryptJson(credentials, id),
        connection_state: 'open',
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .execute();
    const stored = await this.#deps.profiles.storeProfile(id, profile);
    await this.#queueCatchup(id);
    return stored;
  }

  /**
   * Gap healing on reconnect: with `sync.catchup.enabled`, an instance that has synced history
   * (a coverage ledger) gets a `catchup` job — one pending at most — which fills per chat the gap
   * since its newest covered point: what was missed while it was disconnected.
   */
  async #queueCatchup(id: string): Promise<void> {
    await new CatchupTrigger({
      db: this.#db,
      settings: this.#deps.settings,
      jobs: this.#deps.jobs,
      queue: this.#deps.queue,
      log: { debug() {}, info() {}, warn() {}, error() {} },
    }).request(id, 'connect');
  }

  /**
   * Restarts the connection: WhatsApp closes and reopens its socket (after forgetting the link
   * when `forceNewQr`); Discord validates the stored token again and refreshes the profile. A
   * Discord instance without a stored token is a 409.
   */
  async restart(id: string, forceNewQr: boolean): Promise<Instance> {
    const instance = await this.get(id);
    if (instance.channel === 'whatsapp-baileys') {
      const gateway = this.whatsapp();
      if (forceNewQr) await gateway.logout(instanceId(id));
      else await gateway.disconnect(instanceId(id));
      const state = await gateway.connect(instanceId(id));
      return this.#setState(id, state.status === 'idle' ? 'disconnected' : state.status);
    }
    if (!instance.credentials) {
      throw ApiError.conflict('the instance is not connected: POST /instances/:id/connect first');
    }
    const { token } = this.#deps.cipher.decryptJson<{ token: string }>(instance.credentials, id);
    return this.connect(id, token);
  }

  /** Forgets the credentials (Discord) or closes the socket keeping the link (WhatsApp). */
  async disconnect(id: string): Promise<Instance> {
    const instance = await this.get(id);
    if (instance.channel === 'whatsapp-baileys' && this.#gateway()) {
      await this.whatsapp().disconnect(instanceId(id));
      return this.#setState(id, 'disconnected');
    }
    return this.#db
      .updateTable('instances')
      .set({ credentials: null, connection_state: 'disconnected', updated_at: sql`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Unlinks a WhatsApp device and deletes its auth state. */
  async logout(id: string): Promise<Instance> {
    const instance = await this.get(id);
    if (instance.channel !== 'whatsapp-baileys')
      throw ApiError.unprocessable('only WhatsApp instances are linked devices');
    await this.whatsapp().logout(instanceId(id));
    return this.#setState(id, 'logged_out');
  }

  /** The WhatsApp sessions (here or on the workers), or 503 when WhatsApp runs nowhere reachable. */
  whatsapp(): WhatsAppGateway {
    const gateway = this.#gateway();
    if (!gateway) {
      throw new ApiError(
        503,
        'WHATSAPP_UNAVAILABLE',
        'WhatsApp is not running: without NATS_URL it runs in the API process (WHATSAPP_ENABLED), with NATS_URL in the sync-workers',
      );
    }
    return gateway;
  }

  #gateway(): WhatsAppGateway | null {
    if (this.#deps.whatsapp) return this.#deps.whatsapp;
    const plugin = this.#deps.plugins.has('whatsapp-baileys')
      ? this.#deps.plugins.get('whatsapp-baileys')
      : null;
    return plugin && hasWhatsAppConnection(plugin) ? new LocalWhatsAppGateway(plugin) : null;
  }

  /** The live WhatsApp state when a session runs somewhere; `null` when none does (or WhatsApp is off). */
  async whatsappStatus(id: string) {
    return (await this.#gateway()?.status(instanceId(id))) ?? null;
  }

  async #setState(id: string, state: string): Promise<Instance> {
    return this.#db
      .updateTable('instances')
      .set({ connection_state: state, updated_at: sql`now()` })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * A 400 unless `id` has the form of a chat id of the instance's channel (a Discord snowflake, a
   * WhatsApp JID), when that channel's plugin says what the form is.
   */
  checkChatId(instance: Instance, id: string, at: { in: string; path: string }): void {
    if (!this.#deps.plugins.has(instance.channel)) return;
    const plugin = this.#deps.plugins.get(instance.channel);
    if (validatesChatIds(plugin) && !plugin.isChatId(id)) {
      throw ApiError.validation(
        `${at.path.slice(1)} is not a chat id of the ${instance.channel} channel (${CHAT_ID_FORMS[instance.channel] ?? 'its own form'})`,
        [{ ...at, message: 'not a chat id of this channel' }],
      );
    }
  }

  /** True when the instance can be synced. */
  static isConnected(instance: Instance): boolean {
    return instance.credentials !== null || instance.connection_state === 'open';
  }
}
