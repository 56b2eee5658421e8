import type { InstanceId } from '@omni/sync-core';

/**
 * Where a WhatsApp session stands. `qr`: waiting for a QR scan or pairing code; `closed`: not
 * connected (stopped, or reconnects gave up); `logged_out`: unlinked from the phone — needs a new
 * link, never retried by itself.
 */
export type WhatsAppConnectionStatus = 'idle' | 'connecting' | 'qr' | 'open' | 'closed' | 'logged_out';

/** The QR code to link a device, as `GET /instances/:id/qr` returns it. */
export interface WhatsAppQrCode {
  /** The raw QR payload (what the QR encodes). */
  code: string;
  /** The QR as a PNG data URL (`data:image/png;base64,…`). */
  dataUrl: string;
  /** When this QR stops being valid (WhatsApp rotates it), UTC ms. */
  expiresAt: number;
}

/** A pairing code to link a device by phone number, as `POST /instances/:id/pair` returns it. */
export interface WhatsAppPairingCode {
  code: string;
  /** E.164 phone number the code is for. */
  phoneNumber: string;
  /** Seconds the code can be entered. */
  expiresIn: number;
  message: string;
}

/** A snapshot of one instance's connection. */
export interface WhatsAppConnectionState {
  instanceId: InstanceId;
  status: WhatsAppConnectionStatus;
  /** Current QR while `status` is `qr`. */
  qr: WhatsAppQrCode | null;
  /** The linked account once known. */
  user: { id: string; lid: string | null; name: string | null } | null;
  /** Why the last connection closed, if it did. */
  lastError: { statusCode: number | null; message: string } | null;
  /** Reconnect attempts since the last successful open. */
  reconnectAttempts: number;
  /** UTC ms of the last change. */
  updatedAt: number;
}

/**
 * Connection lifecycle of WhatsApp instances — what the API's connect / qr / pair / logout routes
 * wrap. Implemented by the WhatsApp plugin next to `ChannelPlugin`.
 */
export interface WhatsAppConnectionControl {
  /** Starts (or returns) the socket of an instance; resolves with its state once it is `open`, `qr` or closed. */
  connect(instanceId: InstanceId): Promise<WhatsAppConnectionState>;
  /** The current state; `idle` for an instance never connected in this process. */
  connectionState(instanceId: InstanceId): WhatsAppConnectionState;
  /** The QR while waiting for a link, else `null`. */
  currentQr(instanceId: InstanceId): WhatsAppQrCode | null;
  /** Asks for a pairing code for `phoneNumber` (any format; digits are kept). Needs status `qr`. */
  requestPairingCode(instanceId: InstanceId, phoneNumber: string): Promise<WhatsAppPairingCode>;
  /** Unlinks the device and deletes its auth state. */
  logout(instanceId: InstanceId): Promise<void>;
  /** Closes the socket without unlinking (auth state kept). */
  disconnect(instanceId: InstanceId): Promise<void>;
  /** Calls `listener` on every state change; returns the unsubscribe function. */
  onConnectionChange(listener: (state: WhatsAppConnectionState) => void): () => void;
}

/** True when `value` (a registered plugin) offers the WhatsApp connection lifecycle. */
export function hasWhatsAppConnection(value: unknown): value is WhatsAppConnectionControl {
  const v = value as Partial<WhatsAppConnectionControl> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.connect === 'function' &&
    typeof v.currentQr === 'function' &&
    typeof v.requestPairingCode === 'function' &&
    typeof v.logout === 'function'
  );
}
