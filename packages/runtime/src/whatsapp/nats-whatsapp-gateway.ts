import { type NatsConnection, RequestError, TimeoutError } from '@nats-io/transport-node';
import type { WhatsAppConnectionState, WhatsAppPairingCode } from '@omni/channel-whatsapp';
import type { ChannelProfile, InstanceId } from '@omni/sync-core';
import type { WhatsAppGateway, WhatsAppQrAnswer } from './whatsapp-gateway.ts';
import { WhatsAppGatewayError, type WhatsAppGatewayErrorCode } from './whatsapp-gateway-error.ts';
import {
  connectSubject,
  DEFAULT_WHATSAPP_SUBJECT_PREFIX,
  decode,
  encode,
  sessionSubject,
  type WhatsAppOperation,
  type WhatsAppReply,
  type WhatsAppRequest,
} from './whatsapp-rpc.ts';

/** Options of {@link NatsWhatsAppGateway}. */
export interface NatsWhatsAppGatewayOptions {
  /**
   * Root of the request subjects; the same as the workers'.
   * @defaultValue `'omni.wa'`
   */
  subjectPrefix?: string;
  /**
   * How long a status, QR, pair, logout or disconnect request waits for its answer, in ms.
   * @defaultValue 10_000
   */
  timeoutMs?: number;
  /**
   * How long a connect, pair or profile request waits: the socket must reach `qr`, `open` or
   * closed first, in ms.
   * @defaultValue 45_000
   */
  connectTimeoutMs?: number;
}

/** Defaults of {@link NatsWhatsAppGatewayOptions}. */
export const DEFAULT_NATS_WHATSAPP_GATEWAY_OPTIONS = {
  subjectPrefix: DEFAULT_WHATSAPP_SUBJECT_PREFIX,
  timeoutMs: 10_000,
  connectTimeoutMs: 45_000,
} satisfies Required<NatsWhatsAppGatewayOptions>;

const GATEWAY_CODES = new Set<string>([
  'WHATSAPP_UNAVAILABLE',
  'WHATSAPP_TIMEOUT',
  'WHATSAPP_SESSION_HELD',
  'WHATSAPP_REFUSED',
]);

/**
 * The sessions of the sync-workers (the distributed mode), reached by NATS request/reply: a
 * request on `<prefix>.<instanceId>.<op>` is answered by the worker holding the instance's session
 * lease; a connect nobody answers goes to `<prefix>.connect`, where one worker of the queue group
 * takes the lease and starts the socket. No responder → `WHATSAPP_UNAVAILABLE`; no answer in time
 * → `WHATSAPP_TIMEOUT`.
 */
export class NatsWhatsAppGateway implements WhatsAppGateway {
  readonly #nc: NatsConnection;
  readonly #options: Required<NatsWhatsAppGatewayOptions>;

  constructor(nc: NatsConnection, options: NatsWhatsAppGatewayOptions = {}) {
    this.#nc = nc;
    this.#options = { ...DEFAULT_NATS_WHATSAPP_GATEWAY_OPTIONS, ...options };
  }

  async connect(instanceId: InstanceId): Promise<WhatsAppConnectionState> {
    try {
      return await this.#ask<WhatsAppConnectionState>(instanceId, 'connect', {});
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      return this.#request<WhatsAppConnectionState>(
        instanceId,
        connectSubject(this.#options.subjectPrefix),
        { instanceId },
        this.#options.connectTimeoutMs,
      );
    }
  }

  async status(instanceId: InstanceId): Promise<WhatsAppConnectionState | null> {
    try {
      return await this.#ask<WhatsAppConnectionState>(instanceId, 'status', {});
    } catch (error) {
      if (isUnavailable(error)) return null;
      throw error;
    }
  }

  qr(instanceId: InstanceId): Promise<WhatsAppQrAnswer> {
    return this.#ask<WhatsAppQrAnswer>(instanceId, 'qr', {});
  }

  async pair(instanceId: InstanceId, phoneNumber: string): Promise<WhatsAppPairingCode> {
    try {
      return await this.#ask<WhatsAppPairingCode>(instanceId, 'pair', { phoneNumber });
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      await this.connect(instanceId);
      return this.#ask<WhatsAppPairingCode>(instanceId, 'pair', { phoneNumber });
    }
  }

  async logout(instanceId: InstanceId): Promise<void> {
    await this.#ask(instanceId, 'logout', {});
  }

  /**
   * The account's profile, read by the worker holding the session (the API holds no socket); the
   * caller stores it. No session runs → `WHATSAPP_UNAVAILABLE`.
   */
  profile(instanceId: InstanceId): Promise<ChannelProfile> {
    return this.#ask<ChannelProfile>(instanceId, 'profile', {});
  }

  async disconnect(instanceId: InstanceId): Promise<void> {
    try {
      await this.#ask(instanceId, 'disconnect', {});
    } catch (error) {
      if (!isUnavailable(error)) throw error;
    }
  }

  #ask<T>(instanceId: string, op: WhatsAppOperation, body: WhatsAppRequest): Promise<T> {
    const timeout =
      op === 'connect' || op === 'pair' || op === 'profile'
        ? this.#options.connectTimeoutMs
        : this.#options.timeoutMs;
    return this.#request<T>(
      instanceId,
      sessionSubject(this.#options.subjectPrefix, instanceId, op),
      body,
      timeout,
    );
  }

  async #request<T>(instanceId: string, subject: string, body: WhatsAppRequest, timeout: number): Promise<T> {
    let reply: WhatsAppReply;
    try {
      const msg = await this.#nc.request(subject, encode(body), { timeout });
      reply = decode<WhatsAppReply>(msg.data);
    } catch (error) {
      throw translateRequestError(error, instanceId, subject);
    }
    if (reply.ok) return reply.data as T;
    const { code, message } = reply.error;
    if (GATEWAY_CODES.has(code))
      throw new WhatsAppGatewayError(code as WhatsAppGatewayErrorCode, message, { instanceId });
    throw new WhatsAppGatewayError('WHATSAPP_REFUSED', message, { instanceId, remoteCode: code });
  }
}

function isUnavailable(error: unknown): boolean {
  return error instanceof WhatsAppGatewayError && error.code === 'WHATSAPP_UNAVAILABLE';
}

function translateRequestError(error: unknown, instanceId: string, subject: string): WhatsAppGatewayError {
  if (error instanceof RequestError && error.isNoResponders()) {
    return new WhatsAppGatewayError(
      'WHATSAPP_UNAVAILABLE',
      'no sync-worker runs this WhatsApp session (POST /instances/:id/connect starts it; is a sync-worker running?)',
      { instanceId, cause: error },
    );
  }
  if (error instanceof TimeoutError) {
    return new WhatsAppGatewayError(
      'WHATSAPP_TIMEOUT',
      `the WhatsApp session did not answer in time (${subject})`,
      {
        instanceId,
        cause: error,
      },
    );
  }
  return new WhatsAppGatewayError(
    'WHATSAPP_UNAVAILABLE',
    `the WhatsApp session could not be reached: ${String(error)}`,
    {
      instanceId,
      cause: error,
    },
  );
}
