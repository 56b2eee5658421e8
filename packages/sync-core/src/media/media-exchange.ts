import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { MediaTarget } from './media-url-check.ts';

/** The timers and abort hooks of one HTTP exchange. */
export interface ExchangeControl {
  /** Aborted by cancel, shutdown, the deadline or a timer; the request is destroyed with its reason. */
  signal: AbortSignal;
  /** Called with the phase when a timer runs out; expected to abort `signal`. */
  onTimeout: (phase: 'connect' | 'idle') => void;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Extra CA certificates (PEM) trusted besides the system's. */
  ca: string | Buffer | null;
}

/** An exchange whose response headers are in. */
export interface OpenExchange {
  request: ClientRequest;
  response: IncomingMessage;
  /** Starts the idle timer while waiting for the next body chunk. */
  waiting(): void;
  /** A chunk arrived: the idle timer stops. */
  arrived(): void;
  /** Stops every timer and listener (the exchange is over). */
  close(): void;
}

/**
 * Sends `GET target.url` over a connection opened to `target.connectHost` — the address that was
 * checked, never looked up again — with `servername` for TLS (the certificate is verified against
 * the URL's host name) and the URL's `Host`. The connection must be up within `connectTimeoutMs`
 * and then no wait for a byte (headers or body) may exceed `idleTimeoutMs`. Resolves when the
 * response headers are in; rejects with the signal's reason when it is aborted.
 */
export function openExchange(
  target: MediaTarget,
  headers: Record<string, string>,
  control: ExchangeControl,
): Promise<OpenExchange> {
  const { url } = target;
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const request = send({
    host: target.connectHost,
    port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    agent: false,
    headers: { ...headers, host: url.host, 'accept-encoding': 'identity', connection: 'close' },
    ...(https && target.servername ? { servername: target.servername } : {}),
    ...(https && control.ca ? { ca: control.ca } : {}),
  });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const arm = (phase: 'connect' | 'idle', ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => control.onTimeout(phase), ms);
  };
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  const onAbort = () => request.destroy(control.signal.reason as Error);
  const close = () => {
    disarm();
    control.signal.removeEventListener('abort', onAbort);
  };
  control.signal.addEventListener('abort', onAbort, { once: true });
  arm('connect', control.connectTimeoutMs);
  request.once('socket', (socket) => {
    socket.once('connect', () => arm('idle', control.idleTimeoutMs));
  });
  return new Promise<OpenExchange>((resolve, reject) => {
    request.once('error', (error) => {
      close();
      reject(control.signal.aborted ? control.signal.reason : error);
    });
    request.once('response', (response) => {
      disarm();
      response.once('error', () => {});
      resolve({
        request,
        response,
        waiting: () => arm('idle', control.idleTimeoutMs),
        arrived: disarm,
        close,
      });
    });
    if (control.signal.aborted) onAbort();
    request.end();
  });
}
