import type { Database } from '@omni/db';
import { isUuid } from '@omni/sync-core';
import type { Kysely } from 'kysely';
import type { JobTicket } from '../queue/job-queue.ts';
import type { JobPlacement } from '../worker/job-placement.ts';
import type { WhatsAppSessionHost } from './whatsapp-session-host.ts';

/**
 * The {@link JobPlacement} of a sync-worker in the distributed mode: a job of a WhatsApp instance
 * runs only on the worker holding the instance's session (its `channel_sessions` lease), which a
 * worker may take when the lease is free or expired — so when the holder dies, its lease runs out
 * and the next worker a ticket reaches takes the session and the job over. Without a session host
 * (`WHATSAPP_ENABLED=false`) a worker leaves WhatsApp jobs to the others. Jobs of other channels
 * run anywhere.
 */
export class WhatsAppJobPlacement implements JobPlacement {
  readonly #db: Kysely<Database>;
  readonly #host: Pick<WhatsAppSessionHost, 'hold'> | null;
  readonly #channels = new Map<string, string | null>();

  constructor(db: Kysely<Database>, host: Pick<WhatsAppSessionHost, 'hold'> | null) {
    this.#db = db;
    this.#host = host;
  }

  async canRun(ticket: JobTicket): Promise<boolean> {
    if ((await this.#channelOf(ticket.instanceId)) !== 'whatsapp-baileys') return true;
    return this.#host ? this.#host.hold(ticket.instanceId) : false;
  }

  /** An instance's channel never changes: looked up once. An unknown instance runs anywhere (its job fails). */
  async #channelOf(instanceId: string): Promise<string | null> {
    if (this.#channels.has(instanceId)) return this.#channels.get(instanceId) ?? null;
    if (!isUuid(instanceId)) return null;
    const row = await this.#db
      .selectFrom('instances')
      .select('channel')
      .where('id', '=', instanceId)
      .executeTakeFirst();
    if (row) this.#channels.set(instanceId, row.channel);
    return row?.channel ?? null;
  }
}
