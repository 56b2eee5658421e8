/**
 * Why a WhatsApp session could not be reached or refused a request.
 * - `WHATSAPP_UNAVAILABLE`: no process runs the session (no worker, or nobody holds it)
 * - `WHATSAPP_TIMEOUT`: the process holding the session did not answer in time
 * - `WHATSAPP_SESSION_HELD`: another process holds the session lease but did not answer
 * - `WHATSAPP_REFUSED`: the session answered with an error (`remoteCode` is the sync-core code)
 */
export type WhatsAppGatewayErrorCode =
  | 'WHATSAPP_UNAVAILABLE'
  | 'WHATSAPP_TIMEOUT'
  | 'WHATSAPP_SESSION_HELD'
  | 'WHATSAPP_REFUSED';

/** A request to a WhatsApp session that failed on the way or on the other side. */
export class WhatsAppGatewayError extends Error {
  override readonly name = 'WhatsAppGatewayError';
  readonly code: WhatsAppGatewayErrorCode;
  /** The instance concerned. */
  readonly instanceId: string;
  /** For `WHATSAPP_REFUSED`: the error code the session raised (`PERMANENT`, `TRANSIENT`, …). */
  readonly remoteCode: string | null;

  constructor(
    code: WhatsAppGatewayErrorCode,
    message: string,
    options: { instanceId: string; remoteCode?: string | null; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.instanceId = options.instanceId;
    this.remoteCode = options.remoteCode ?? null;
  }
}
