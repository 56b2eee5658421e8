import { WHATSAPP_CAPABILITIES } from '@omni/channel-whatsapp/light';
import {
  type ChannelPlugin,
  type ChannelProfile,
  type ChatListing,
  type HistoryBatch,
  instanceId,
  type PluginContext,
  TransientError,
} from '@omni/sync-core';
import type { NatsWhatsAppGateway } from './nats-whatsapp-gateway.ts';

/**
 * The WhatsApp channel in a process that holds no WhatsApp socket (the API over NATS, a worker
 * with `WHATSAPP_ENABLED=false`): it declares WhatsApp's capabilities, so sync jobs of a
 * `whatsapp-baileys` instance can be started and inspected here, and reads profiles through the
 * worker holding the session (`profile` request over NATS). The jobs themselves run on that worker
 * (see {@link WhatsAppJobPlacement}); listing chats or paging history here is refused.
 */
export class RemoteWhatsAppPlugin implements ChannelPlugin {
  readonly id = 'whatsapp-baileys' as const;
  readonly capabilities = WHATSAPP_CAPABILITIES;
  readonly #gateway: Pick<NatsWhatsAppGateway, 'profile'>;

  constructor(gateway: Pick<NatsWhatsAppGateway, 'profile'>) {
    this.#gateway = gateway;
  }

  getProfile(ctx: PluginContext): Promise<ChannelProfile> {
    return this.#gateway.profile(instanceId(ctx.instance.id));
  }

  async listChats(ctx: PluginContext): Promise<ChatListing> {
    throw this.#elsewhere(ctx);
  }

  // biome-ignore lint/correctness/useYield: refuses before the first batch
  async *fetchHistory(ctx: PluginContext): AsyncIterable<HistoryBatch> {
    throw this.#elsewhere(ctx);
  }

  #elsewhere(ctx: PluginContext): TransientError {
    return new TransientError('WhatsApp jobs run on the sync-worker holding the session, not here', {
      details: { instanceId: ctx.instance.id },
    });
  }
}
