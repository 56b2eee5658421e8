import {
  createBaileysSocketFactory,
  createWhatsAppPlugin,
  type WhatsAppConnectionState,
  type WhatsAppPlugin,
  type WhatsAppSocketFactory,
} from '@omni/channel-whatsapp';
import type { CredentialCipher, Database } from '@omni/db';
import {
  DedupeWriter,
  HistoryIngestor,
  instanceId,
  LidMappingStore,
  type Logger,
  PostgresAuthStateStore,
} from '@omni/sync-core';
import { type Kysely, sql } from 'kysely';
import type { ProfileSyncService } from '../profile/profile-sync-service.ts';
import { hostList } from './channel-plugins.ts';

/** What {@link startWhatsApp} needs. */
export interface WhatsAppDeps {
  db: Kysely<Database>;
  cipher: CredentialCipher;
  profiles: ProfileSyncService;
  log: Logger;
  /**
   * Builds sockets.
   * @defaultValue Baileys (`createBaileysSocketFactory()`); tests pass the testkit's fake
   */
  socketFactory?: WhatsAppSocketFactory;
  /**
   * Hosts media may be downloaded from.
   * @defaultValue `WHATSAPP_MEDIA_HOSTS` (env, comma-separated), else the plugin's own (`mmg.whatsapp.net`, `*.whatsapp.net`)
   */
  mediaHosts?: readonly string[];
}

/** The connection state as `instances.connection_state` spells it. */
export function connectionStateOf(state: Pick<WhatsAppConnectionState, 'status'>): string {
  return state.status === 'idle' ? 'disconnected' : state.status;
}

/**
 * The WhatsApp plugin of the single process that holds the sockets: auth state encrypted in
 * Postgres, pushed history and LID ↔ phone pairs stored through the HistoryIngestor as they arrive
 * (the pairs are read back when a session opens), connection changes written to
 * `instances.connection_state`, the profile synced when a session opens, and sessions with stored
 * credentials reconnected at start-up.
 */
export function startWhatsApp(deps: WhatsAppDeps): WhatsAppPlugin {
  const lids = new LidMappingStore(deps.db);
  const mediaHosts = deps.mediaHosts ?? hostList(process.env.WHATSAPP_MEDIA_HOSTS);
  const plugin = createWhatsAppPlugin({
    socketFactory: deps.socketFactory ?? createBaileysSocketFactory(),
    authStore: new PostgresAuthStateStore(deps.db, deps.cipher),
    storedLidMappings: (id) => lids.list(id),
    log: deps.log,
    ...(mediaHosts ? { mediaHosts } : {}),
  });
  const ingestor = new HistoryIngestor(deps.db, new DedupeWriter(deps.db));
  plugin.setHistoryHandler(async (batch) => {
    await ingestor.ingest(batch);
  });
  plugin.onConnectionChange((state) => {
    void deps.db
      .updateTable('instances')
      .set({ connection_state: connectionStateOf(state), updated_at: sql`now()` })
      .where('id', '=', state.instanceId)
      .execute()
      .then(() => (state.status === 'open' ? deps.profiles.syncProfile(state.instanceId) : undefined))
      .catch((err) => deps.log.warn({ err, instanceId: state.instanceId }, 'WhatsApp state not stored'));
  });
  return plugin;
}

/** Ids of active WhatsApp instances with stored credentials: the sessions to run after a restart. */
export async function storedWhatsAppSessions(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('instances')
    .select('id')
    .where('channel', '=', 'whatsapp-baileys')
    .where('is_active', '=', true)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('whatsapp_auth')
          .select('key')
          .whereRef('whatsapp_auth.instance_id', '=', 'instances.id')
          .where('whatsapp_auth.key', '=', 'creds'),
      ),
    )
    .execute();
  return rows.map((r) => r.id);
}

/** Reconnects every WhatsApp instance that has stored credentials (after a restart). */
export async function reconnectWhatsApp(
  plugin: WhatsAppPlugin,
  db: Kysely<Database>,
  log: Logger,
): Promise<number> {
  const ids = await storedWhatsAppSessions(db);
  for (const id of ids) {
    void plugin
      .connect(instanceId(id))
      .catch((err) => log.warn({ err, instanceId: id }, 'WhatsApp reconnect failed'));
  }
  return ids.length;
}
