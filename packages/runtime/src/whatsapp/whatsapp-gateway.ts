import type {
  WhatsAppConnectionState,
  WhatsAppConnectionStatus,
  WhatsAppPairingCode,
  WhatsAppQrCode,
} from '@omni/channel-whatsapp';
import type { InstanceId } from '@omni/sync-core';

/** The QR of a session with the status it was read in. */
export interface WhatsAppQrAnswer {
  status: WhatsAppConnectionStatus;
  /** `null` unless the session waits for a link. */
  qr: WhatsAppQrCode | null;
}

/**
 * How the API reaches the WhatsApp sessions, wherever they live: in this process
 * ({@link LocalWhatsAppGateway}, the embedded mode) or in the sync-worker holding the instance's
 * session lease ({@link NatsWhatsAppGateway}, NATS request/reply). Failures to reach a session
 * are {@link WhatsAppGatewayError}s.
 */
export interface WhatsAppGateway {
  /** Starts the socket (or returns the running one); resolves once it is `open`, `qr` or closed. */
  connect(instanceId: InstanceId): Promise<WhatsAppConnectionState>;
  /** The live state, or `null` when no process runs a session for the instance. */
  status(instanceId: InstanceId): Promise<WhatsAppConnectionState | null>;
  /** The current QR while waiting for a link. */
  qr(instanceId: InstanceId): Promise<WhatsAppQrAnswer>;
  /** A pairing code for `phoneNumber`; starts the socket first when it is not running. */
  pair(instanceId: InstanceId, phoneNumber: string): Promise<WhatsAppPairingCode>;
  /** Unlinks the device and deletes its auth state; the session lease is released. */
  logout(instanceId: InstanceId): Promise<void>;
  /** Closes the socket keeping the link; the session lease is released. No session: nothing to do. */
  disconnect(instanceId: InstanceId): Promise<void>;
}
