/**
 * What the API asks the process holding a WhatsApp session, on `<prefix>.<instanceId>.<op>`;
 * `profile` reads the account's profile through the session (paced by the holder's limiter).
 */
export type WhatsAppOperation = 'connect' | 'status' | 'qr' | 'pair' | 'logout' | 'disconnect' | 'profile';

/** Every {@link WhatsAppOperation}, for validating a request subject. */
export const WHATSAPP_OPERATIONS: readonly WhatsAppOperation[] = [
  'connect',
  'status',
  'qr',
  'pair',
  'logout',
  'disconnect',
  'profile',
];

/** Root of the WhatsApp request subjects. */
export const DEFAULT_WHATSAPP_SUBJECT_PREFIX = 'omni.wa';

/** Subject answered by the worker holding `instanceId`'s session. */
export const sessionSubject = (prefix: string, instanceId: string, op: WhatsAppOperation) =>
  `${prefix}.${instanceId}.${op}`;

/** Queue-group subject: exactly one worker takes the lease of a session nobody holds and starts it. */
export const connectSubject = (prefix: string) => `${prefix}.connect`;

/** Body of a request: the instance (on the queue-group subject) and the phone number for `pair`. */
export interface WhatsAppRequest {
  instanceId?: string;
  phoneNumber?: string;
}

/** Body of a reply: the result, or the error the session raised (`code` of sync-core or the gateway). */
export type WhatsAppReply =
  | { ok: true; data: unknown }
  | { ok: false; error: { code: string; message: string } };

/** JSON text of a value, as bytes for NATS. */
export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** The JSON value of a NATS payload (`{}` for an empty one). */
export function decode<T>(data: Uint8Array): T {
  return (data.length === 0 ? {} : JSON.parse(new TextDecoder().decode(data))) as T;
}
