import type {
  WhatsAppConnectionControl,
  WhatsAppConnectionState,
  WhatsAppPairingCode,
} from '@omni/channel-whatsapp';
import type { InstanceId } from '@omni/sync-core';
import type { WhatsAppGateway, WhatsAppQrAnswer } from './whatsapp-gateway.ts';

/** The sessions of this process (the embedded mode): calls the plugin directly. */
export class LocalWhatsAppGateway implements WhatsAppGateway {
  readonly #control: WhatsAppConnectionControl;

  constructor(control: WhatsAppConnectionControl) {
    this.#control = control;
  }

  connect(instanceId: InstanceId): Promise<WhatsAppConnectionState> {
    return this.#control.connect(instanceId);
  }

  async status(instanceId: InstanceId): Promise<WhatsAppConnectionState | null> {
    const state = this.#control.connectionState(instanceId);
    return state.status === 'idle' ? null : state;
  }

  async qr(instanceId: InstanceId): Promise<WhatsAppQrAnswer> {
    return {
      status: this.#control.connectionState(instanceId).status,
      qr: this.#control.currentQr(instanceId),
    };
  }

  async pair(instanceId: InstanceId, phoneNumber: string): Promise<WhatsAppPairingCode> {
    if (this.#control.connectionState(instanceId).status === 'idle') await this.#control.connect(instanceId);
    return this.#control.requestPairingCode(instanceId, phoneNumber);
  }

  logout(instanceId: InstanceId): Promise<void> {
    return this.#control.logout(instanceId);
  }

  disconnect(instanceId: InstanceId): Promise<void> {
    return this.#control.disconnect(instanceId);
  }
}
