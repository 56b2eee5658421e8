import {
  createBaileysSocketFactory,
  createWhatsAppPlugin,
  type WhatsAppConnectionState,
  type WhatsAppPlugin,
  type WhatsAppSocketFactory,
} from '@omni/channel-whatsapp';
import type { CredentialCipher, Database } from '@omni/db';
import {
  type ChatInfo,
  chatId,
  DedupeWriter,
  HistoryInbox,
  HistoryIngestor,
  type InstanceId,
  instanceId,
  LidMappingStore,
  type Logger,
  PostgresAuthStateStore,
} from '@omni/sync-core';
import { type Kysely, sql } from 'kysely';
import type { ProfileSyncService } from '../profile/profile-sync-service.ts';
import type { CatchupTrigger } from '../scheduler/catchup-trigger.ts';
import { DurableHistoryHandler } from '../whatsapp/durable-history-handler.ts';
import { hostList } from './channel-plugins.ts';
import { storedWhatsAppSessions } from './stored-whatsapp-sessions.ts';

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
  /**
   * Where pushed history goes when the process stops while Postgres cannot take it
   * (`$DATA_DIR/whatsapp-inbox`); read back at the next start.
   * @defaultValue none: such a batch is logged as lost
   */
  spoolDir?: string;
  /**
   * The database has a pool (Postgres): the inbox write and the storing run side by side.
   * @defaultValue false (PGlite's single connection: one after the other)
   */
  pooled?: boolean;
  /**
   * Gap healing: each time a session's socket opens — its first open in this process (a worker
   * start, a session taken over) and every reopen after a close — the instance's catch-up is asked
   * for, once the server handed over what it kept meanwhile (the offline queue, Baileys'
   * `receivedPendingNotifications`; 15 s after the open when it never says) and that is stored. The trigger decides
   * (`sync.catchup.enabled`, something synced before, one pending job per instance).
   * @defaultValue none: no catch-up on (re)connect
   */
  catchup?: Pick<CatchupTrigger, 'request'>;
}

/** The WhatsApp plugin of a process with what it needs around it; see {@link startWhatsApp}. */
export interface WhatsAppWiring {
  plugin: WhatsAppPlugin;
  /** Pushed history: written to `history_inbox` first, then stored; replays what a run left. */
  history: DurableHistoryHandler;
  /**
   * Stores what an earlier run (or a dead worker) left in the inbox: of one instance (a session
   * taken over), or everything including the spool folder (at start).
   */
  replay(instanceId?: string): Promise<number>;
  /** Closes every socket, then waits for the writes they caused (state, profile, pushed history). */
  close(): Promise<void>;
}

/** The connection state as `instances.connection_state` spells it. */
export function connectionStateOf(state: Pick<WhatsAppConnectionState, 'status'>): string {
  return state.status === 'idle' ? 'disconnected' : state.status;
}

/**
 * A WhatsApp account's stored chats (`chats`), as the plugin's `storedChats` wants them: a session
 * resumed after a restart or taken over from another worker was not pushed its history again.
 */
export function storedWhatsAppChats(db: Kysely<Database>): (instanceId: InstanceId) => Promise<ChatInfo[]> {
  return async (instanceId) => {
    const rows = await db
      .selectFrom('chats')
      .select(['external_id', 'alt_external_id', 'name', 'kind'])
      .where('instance_id', '=', instanceId)
      .execute();
    return rows.map((c) => ({
      id: chatId(c.external_id),
      altId: c.alt_external_id,
      name: c.name,
      kind: (c.kind ?? 'dm') as ChatInfo['kind'],
      readable: true,
    }));
  };
}

/**
 * The WhatsApp plugin of a process that holds sockets: auth state encrypted in Postgres; pushed
 * history written to the inbox and then stored through the HistoryIngestor (never dropped: see
 * {@link DurableHistoryHandler}); LID ↔ phone pairs read back when a session opens; the stored
 * chats listed after a restart or takeover; connection changes written to
 * `instances.connection_state`; the profile synced when a session opens. {@link WhatsAppWiring.close}
 * waits for those writes, so the database is never closed under them.
 */
export function startWhatsApp(deps: WhatsAppDeps): WhatsAppWiring {
  const lids = new LidMappingStore(deps.db);
  const mediaHosts = deps.mediaHosts ?? hostList(process.env.WHATSAPP_MEDIA_HOSTS);
  const plugin = createWhatsAppPlugin({
    socketFactory: deps.socketFactory ?? createBaileysSocketFactory(),
    authStore: new PostgresAuthStateStore(deps.db, deps.cipher),
    storedLidMappings: (id) => lids.list(id),
    storedChats: storedWhatsAppChats(deps.db),
    log: deps.log,
    ...(mediaHosts ? { mediaHosts } : {}),
  });
  const inbox = new HistoryInbox(deps.db, new HistoryIngestor(deps.db, new DedupeWriter(deps.db)));
  const history = new DurableHistoryHandler(inbox, deps.log, {
    spoolDir: deps.spoolDir ?? null,
    parallel: deps.pooled === true,
  });
  plugin.setHistoryHandler((batch) => history.accept(batch));
  const writes = new Set<Promise<unknown>>();
  const track = (write: Promise<unknown>) => {
    writes.add(write);
    void write.finally(() => writes.delete(write));
  };
  /** The last status each session reported; sessions opened before in this process. */
  const last = new Map<string, WhatsAppConnectionState['status']>();
  const opened = new Set<string>();
  /** Sessions just opened whose catch-up waits for the backlog, with the fallback timer. */
  const awaiting = new Map<string, ReturnType<typeof setTimeout>>();
  const catchUp = (id: string) => {
    const timer = awaiting.get(id);
    if (timer === undefined || !deps.catchup) return;
    clearTimeout(timer);
    awaiting.delete(id);
    const reason = opened.has(id) ? 'reconnect' : 'start-up';
    opened.add(id);
    const catchup = deps.catchup;
    track(
      plugin
        .flush(instanceId(id))
        .then(() => catchup.request(id, reason))
        .catch((err) => deps.log.warn({ err, instanceId: id }, 'WhatsApp catch-up not queued')),
    );
  };
  /**
   * Each session's state writes, one after the other: issued side by side on a pool, a
   * `connecting` written just before an `open` could commit after it and leave the instance
   * `connecting` while its socket is open.
   */
  const stateWrites = new Map<string, Promise<unknown>>();
  plugin.onConnectionChange((state) => {
    const id = state.instanceId;
    const opening = state.status === 'open' && last.get(id) !== 'open';
    last.set(id, state.status);
    const stored = (stateWrites.get(id) ?? Promise.resolve()).then(() =>
      deps.db
        .updateTable('instances')
        .set({ connection_state: connectionStateOf(state), updated_at: sql`now()` })
        .where('id', '=', id)
        .execute(),
    );
    stateWrites.set(
      id,
      stored.catch(() => {}),
    );
    track(
      stored
        .then(() => (state.status === 'open' ? deps.profiles.syncProfile(id) : undefined))
        .catch((err) => deps.log.warn({ err, instanceId: id }, 'WhatsApp state not stored')),
    );
    if (state.status !== 'open') {
      clearTimeout(awaiting.get(id));
      awaiting.delete(id);
    } else if (opening && deps.catchup && !awaiting.has(id)) {
      // Caught up once the server handed over what it kept meanwhile — or after a while if it never says.
      awaiting.set(
        id,
        setTimeout(() => catchUp(id), BACKLOG_WAIT_MS),
      );
    }
  });
  plugin.onBacklogDelivered((id) => catchUp(id));
  return {
    plugin,
    history,
    replay: (instanceId) =>
      history.replay(instanceId).catch((err) => {
        deps.log.warn({ err, instanceId }, 'pushed history left by an earlier run not replayed yet');
        return 0;
      }),
    close: async () => {
      for (const timer of awaiting.values()) clearTimeout(timer);
      awaiting.clear();
      history.close();
      await plugin.close();
      while (writes.size > 0) await Promise.allSettled([...writes]);
      // The inbox rows of batches stored already (deleted lazily), before the database closes.
      await history.flushDeletes();
    },
  };
}

/** How long a just-opened session's catch-up waits for the server to hand over its backlog, ms. */
const BACKLOG_WAIT_MS = 15_000;

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
