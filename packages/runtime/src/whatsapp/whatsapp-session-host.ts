import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { WhatsAppConnectionControl } from '@omni/channel-whatsapp';
import type { Database } from '@omni/db';
import {
  isSyncError,
  type Logger,
  type SessionLeaseStore,
  instanceId as toInstanceId,
} from '@omni/sync-core';
import { type Kysely, sql } from 'kysely';
import type { ProfileSyncService } from '../profile/profile-sync-service.ts';
import { storedWhatsAppSessions } from '../runtime/stored-whatsapp-sessions.ts';
import { WhatsAppGatewayError } from './whatsapp-gateway-error.ts';
import {
  connectSubject,
  DEFAULT_WHATSAPP_SUBJECT_PREFIX,
  decode,
  encode,
  WHATSAPP_OPERATIONS,
  type WhatsAppOperation,
  type WhatsAppReply,
  type WhatsAppRequest,
} from './whatsapp-rpc.ts';

/** What {@link WhatsAppSessionHost} works with. */
export interface WhatsAppSessionHostDeps {
  nc: NatsConnection;
  /** The WhatsApp plugin of this process. */
  control: WhatsAppConnectionControl;
  leases: SessionLeaseStore;
  db: Kysely<Database>;
  log: Logger;
  /** Reads profiles through this process's plugin (the `profile` request). */
  profiles: Pick<ProfileSyncService, 'fetchProfile'>;
  /**
   * Stores the pushed history a previous holder left in the inbox, when a session is taken here.
   * @defaultValue nothing to replay
   */
  replay?: (instanceId: string) => Promise<unknown>;
}

/** Options of {@link WhatsAppSessionHost}. */
export interface WhatsAppSessionHostOptions {
  /** This process's id in the lease table (the worker id). */
  owner: string;
  /**
   * Root of the request subjects; the same as the API's gateway.
   * @defaultValue `'omni.wa'`
   */
  subjectPrefix?: string;
  /**
   * How long a lease lasts without renewal, in ms: how soon another worker takes over a dead one's sessions.
   * @defaultValue 30_000
   */
  leaseMs?: number;
  /**
   * How often leases are renewed and expired ones looked for, in ms. Well below `leaseMs`.
   * @defaultValue 10_000
   */
  renewMs?: number;
}

/** Defaults of {@link WhatsAppSessionHostOptions}. */
export const DEFAULT_WHATSAPP_SESSION_HOST_OPTIONS = {
  subjectPrefix: DEFAULT_WHATSAPP_SUBJECT_PREFIX,
  leaseMs: 30_000,
  renewMs: 10_000,
} satisfies Required<Omit<WhatsAppSessionHostOptions, 'owner'>>;

/**
 * The WhatsApp sessions of one sync-worker in the distributed mode. A socket is opened only for an
 * instance whose lease (`channel_sessions`) this worker holds; the lease is renewed every
 * `renewMs` and a socket whose lease was lost is closed. At start the worker tries to take the
 * leases of every stored session; on each renewal it takes over sessions whose holder stopped
 * renewing and reconnects them from the stored auth state. It answers the API's requests for the
 * sessions it holds on `<prefix>.<instanceId>.<op>` and, in a queue group, connects of sessions
 * nobody holds on `<prefix>.connect`.
 */
export class WhatsAppSessionHost {
  readonly #deps: WhatsAppSessionHostDeps;
  readonly #options: Required<WhatsAppSessionHostOptions>;
  readonly #held = new Map<string, Subscription>();
  readonly #releasing = new Map<string, Promise<void>>();
  readonly #adopting = new Map<string, Promise<boolean>>();
  #connectSub: Subscription | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #unlisten: (() => void) | null = null;
  #ticking: Promise<void> | null = null;
  #stopped = true;

  constructor(deps: WhatsAppSessionHostDeps, options: WhatsAppSessionHostOptions) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_WHATSAPP_SESSION_HOST_OPTIONS, ...options };
  }

  /** Instance ids whose session this worker holds. */
  get heldInstanceIds(): string[] {
    return [...this.#held.keys()];
  }

  /**
   * True when this worker holds the instance's session, taking its lease (and opening the socket)
   * first when the lease is free or expired; false when another live worker holds it or the host
   * is stopped. What a sync job of the instance needs before it may run here.
   */
  hold(instanceId: string): Promise<boolean> {
    return this.#startSession(instanceId);
  }

  /** Subscribes, takes the leases of stored sessions and starts renewing. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    const { nc } = this.#deps;
    this.#connectSub = nc.subscribe(connectSubject(this.#options.subjectPrefix), {
      queue: `${this.#options.subjectPrefix}.workers`,
      callback: (err, msg) => {
        if (!err) void this.#answer(msg, 'connect', decode<WhatsAppRequest>(msg.data).instanceId);
      },
    });
    this.#unlisten = this.#deps.control.onConnectionChange((state) => {
      if (state.status === 'logged_out') void this.#releaseSession(state.instanceId);
    });
    await nc.flush();
    for (const id of await this.#storedSessions()) void this.#startSession(id);
    this.#timer = setInterval(() => void this.#tick(), this.#options.renewMs);
  }

  /**
   * Stops answering and renewing. By default the sessions are handed over: their sockets are
   * closed here, then their leases expire at once, so other workers take them over at their next
   * renewal round. `handOver: false` leaves sockets and leases alone (the leases run out), as a
   * crashed worker would.
   */
  async stop(options: { handOver?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unlisten?.();
    this.#connectSub?.unsubscribe();
    await this.#ticking;
    await Promise.allSettled(this.#adopting.values());
    const held = [...this.#held.entries()];
    this.#held.clear();
    for (const [, sub] of held) sub.unsubscribe();
    if (options.handOver !== false) {
      for (const [id] of held) {
        await this.#deps.control.disconnect(toInstanceId(id)).catch(() => {});
        await this.#deps.leases.renew(id, this.#options.owner, 0).catch(() => false);
      }
    }
  }

  #tick(): Promise<void> {
    this.#ticking ??= this.#renewAndTakeOver()
      .catch((err) => this.#deps.log.warn({ err }, 'WhatsApp session leases not renewed'))
      .finally(() => {
        this.#ticking = null;
      });
    return this.#ticking;
  }

  async #renewAndTakeOver(): Promise<void> {
    const { leases, control } = this.#deps;
    for (const id of [...this.#held.keys()]) {
      if (this.#stopped) return;
      if (await leases.renew(id, this.#options.owner, this.#options.leaseMs)) continue;
      this.#deps.log.warn({ instanceId: id }, 'WhatsApp session lease lost: closing the socket');
      this.#forget(id);
      await control.disconnect(toInstanceId(id)).catch(() => {});
    }
    if (this.#stopped) return;
    const expired = await this.#deps.db
      .selectFrom('channel_sessions')
      .innerJoin('instances', 'instances.id', 'channel_sessions.instance_id')
      .select('channel_sessions.instance_id')
      .where('channel_sessions.expires_at', '<', sql<Date>`now()`)
      .where('instances.channel', '=', 'whatsapp-baileys')
      .where('instances.is_active', '=', true)
      .execute();
    for (const { instance_id } of expired) void this.#startSession(instance_id);
  }

  /** Takes the lease and opens the socket; false when another worker holds it. */
  async #startSession(id: string): Promise<boolean> {
    if (this.#held.has(id)) return true;
    const pending = this.#adopting.get(id);
    if (pending) return pending;
    const adopting = this.#adopt(id).finally(() => this.#adopting.delete(id));
    this.#adopting.set(id, adopting);
    return adopting;
  }

  async #adopt(id: string): Promise<boolean> {
    if (this.#stopped) return false;
    if (!(await this.#deps.leases.acquire(id, this.#options.owner, this.#options.leaseMs))) return false;
    const sub = this.#deps.nc.subscribe(`${this.#options.subjectPrefix}.${id}.*`, {
      callback: (err, msg) => {
        const op = msg.subject.slice(msg.subject.lastIndexOf('.') + 1) as WhatsAppOperation;
        if (!err && WHATSAPP_OPERATIONS.includes(op)) void this.#answer(msg, op, id);
      },
    });
    this.#held.set(id, sub);
    await this.#deps.nc.flush();
    this.#deps.log.info({ instanceId: id, owner: this.#options.owner }, 'WhatsApp session lease taken');
    // What a previous holder wrote to the inbox but did not store (it died) is stored now.
    void this.#deps.replay?.(id);
    void this.#deps.control
      .connect(toInstanceId(id))
      .catch((err) => this.#deps.log.warn({ err, instanceId: id }, 'WhatsApp connect failed'));
    return true;
  }

  #forget(id: string): void {
    this.#held.get(id)?.unsubscribe();
    this.#held.delete(id);
  }

  /**
   * Releases a held session's lease. A release already under way (a logged-out event and the
   * logout request both ask) is awaited rather than skipped, so a reply is sent only once the
   * lease is gone.
   */
  #releaseSession(id: string): Promise<void> {
    const pending = this.#releasing.get(id);
    if (pending) return pending;
    if (!this.#held.has(id)) return Promise.resolve();
    this.#forget(id);
    const release = this.#deps.leases
      .release(id, this.#options.owner)
      .then(() => {})
      .catch((err) => this.#deps.log.warn({ err, instanceId: id }, 'WhatsApp session lease not released'))
      .finally(() => this.#releasing.delete(id));
    this.#releasing.set(id, release);
    return release;
  }

  async #answer(msg: Msg, op: WhatsAppOperation, id: string | undefined): Promise<void> {
    let reply: WhatsAppReply;
    try {
      if (!id)
        throw new WhatsAppGatewayError('WHATSAPP_REFUSED', 'the request names no instance', {
          instanceId: '',
        });
      reply = { ok: true, data: (await this.#perform(op, id, decode<WhatsAppRequest>(msg.data))) ?? null };
    } catch (error) {
      const code = error instanceof WhatsAppGatewayError || isSyncError(error) ? error.code : 'INTERNAL';
      reply = { ok: false, error: { code, message: error instanceof Error ? error.message : String(error) } };
    }
    msg.respond(encode(reply));
  }

  async #perform(op: WhatsAppOperation, id: string, request: WhatsAppRequest): Promise<unknown> {
    const { control } = this.#deps;
    const instance = toInstanceId(id);
    switch (op) {
      case 'connect':
        if (!(await this.#startSession(id))) {
          throw new WhatsAppGatewayError(
            'WHATSAPP_SESSION_HELD',
            'another sync-worker holds this WhatsApp session but did not answer; retry after its lease expires',
            { instanceId: id },
          );
        }
        return control.connect(instance);
      case 'status':
        return control.connectionState(instance);
      case 'qr':
        return { status: control.connectionState(instance).status, qr: control.currentQr(instance) };
      case 'pair':
        if (control.connectionState(instance).status === 'idle') await control.connect(instance);
        return control.requestPairingCode(instance, request.phoneNumber ?? '');
      case 'logout':
        await control.logout(instance);
        await this.#releaseSession(id);
        return null;
      case 'disconnect':
        await control.disconnect(instance);
        await this.#releaseSession(id);
        return null;
      case 'profile': {
        const row = await this.#deps.db
          .selectFrom('instances')
          .selectAll()
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        return this.#deps.profiles.fetchProfile(row);
      }
    }
  }

  /** WhatsApp instances with stored credentials: the sessions to run after a restart. */
  #storedSessions(): Promise<string[]> {
    return storedWhatsAppSessions(this.#deps.db);
  }
}
