import { randomUUID } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** What a {@link ListenChanges} subscriber is told. */
export interface ChangeListener {
  /** A notification on the channel, with its payload. */
  notify(payload: string): void;
  /**
   * `true` once the subscription listens (notifications of every commit from then on arrive);
   * `false` when it stopped (connection lost, closed): notifications may have been missed since.
   * Starts not listening. After a loss it reconnects by itself and says `true` again.
   */
  listening(on: boolean): void;
}

/** A running subscription; `close()` stops it (and says `listening(false)`). */
export interface ChangeSubscription {
  close(): Promise<void>;
}

/**
 * Subscribes to a Postgres notification channel (`LISTEN`). Channels are identifiers from a fixed
 * set (`omni_messages`…), never request input.
 */
export type ListenChanges = (channel: string, listener: ChangeListener) => ChangeSubscription;

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new RangeError(`not a channel name: ${channel}`);
}

/** Reconnect delays after a lost connection: doubling from the first to the last, ms. */
const RECONNECT_MS = { first: 100, last: 5_000 } as const;

/** Options of {@link postgresListen}. */
export interface PostgresListenOptions {
  /**
   * How often the listening connection is probed, ms: it sends itself a notification on a probe
   * channel and waits for it to come back. A connection that only listens sends nothing, so one cut
   * without a word (a NAT or load balancer dropping an idle flow, a network partition) would
   * otherwise look alive — and hear nothing — until TCP keep-alive gives up (hours by the OS's
   * defaults); and one through a pooler that does not keep a session (PgBouncer in transaction
   * mode) answers queries but never delivers a notification. The first probe runs before the
   * subscription says it listens.
   * @defaultValue 10 000
   */
  pingMs?: number;
  /**
   * How long a probe may go unanswered before the connection counts as lost, ms (and how long
   * `close()` waits for the connection to end).
   * @defaultValue 5 000
   */
  pingTimeoutMs?: number;
}

/**
 * `LISTEN` on Postgres: a connection of its own (TCP keep-alive on), opened at once and probed
 * through the notification path itself (`pg_notify` to itself on `<channel>_probe` every `pingMs`,
 * the first before it says it listens); when it is lost — an error, its end, a probe not back within
 * `pingTimeoutMs` — the listener hears `listening(false)` and it reconnects with growing delays
 * (100 ms … 5 s). Through a pooler that delivers no notifications it therefore never says it
 * listens.
 */
export function postgresListen(url: string, options: PostgresListenOptions = {}): ListenChanges {
  const pingMs = options.pingMs ?? 10_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  return (channel, listener) => {
    checkChannel(channel);
    let closed = false;
    let client: pg.Client | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay: number = RECONNECT_MS.first;
    /** The current connection's probes. */
    let ping: ReturnType<typeof setInterval> | undefined;
    const probeChannel = `${channel.slice(0, 57)}_probe`;
    const connect = async () => {
      if (closed) return;
      // Named so an operator (or a test) can find it in pg_stat_activity: its last query is a ping.
      const c = new pg.Client({
        connectionString: url,
        keepAlive: true,
        application_name: `omni-listen ${channel}`,
      });
      client = c;
      let lost = false;
      const lose = () => {
        if (lost) return;
        lost = true;
        clearInterval(ping);
        listener.listening(false);
        c.end().catch(() => {});
        if (closed) return;
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, RECONNECT_MS.last);
      };
      c.on('error', lose);
      c.on('end', lose);
      /** The probe on its way: its token, and what to do when it is back. */
      let awaited: { token: string; back: () => void } | null = null;
      c.on('notification', (n) => {
        if (lost) return;
        if (n.channel === channel) listener.notify(n.payload ?? '');
        else if (n.channel === probeChannel && awaited && n.payload === awaited.token) awaited.back();
      });
      /** Sends this connection a notification and answers whether it came back in time. */
      const probe = () =>
        new Promise<boolean>((resolve) => {
          const token = randomUUID();
          const settle = (back: boolean) => {
            clearTimeout(late);
            awaited = null;
            resolve(back);
          };
          const late = setTimeout(() => settle(false), pingTimeoutMs);
          awaited = { token, back: () => settle(true) };
          c.query('SELECT pg_notify($1, $2)', [probeChannel, token]).catch(() => settle(false));
        });
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}; LISTEN ${probeChannel}`);
      } catch {
        lose();
        return;
      }
      if (closed || lost) return;
      if (!(await probe())) {
        lose();
        return;
      }
      if (closed || lost) return;
      delay = RECONNECT_MS.first;
      let pending = false;
      ping = setInterval(() => {
        if (pending || lost) return;
        pending = true;
        void probe().then((back) => {
          pending = false;
          if (!back) lose();
        });
      }, pingMs);
      listener.listening(true);
    };
    void connect();
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        clearInterval(ping);
        const c = client;
        client = null;
        // A connection cut without a word may never answer its end: wait for it at most so long.
        let waited: ReturnType<typeof setTimeout> | undefined;
        if (c) {
          await Promise.race([
            c.end().catch(() => {}),
            new Promise((resolve) => {
              waited = setTimeout(resolve, pingTimeoutMs);
            }),
          ]);
          clearTimeout(waited);
        }
        listener.listening(false);
      },
    };
  };
}

/** `LISTEN` on PGlite: in this process, so it never loses its connection. */
export function pgliteListen(pglite: PGlite): ListenChanges {
  return (channel, listener) => {
    checkChannel(channel);
    let closed = false;
    let on = false;
    const unsubscribe = pglite
      .listen(channel, (payload) => {
        if (on) listener.notify(payload);
      })
      .then((stop) => {
        if (closed) {
          void stop();
          return null;
        }
        on = true;
        listener.listening(true);
        return stop;
      })
      .catch(() => null);
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        on = false;
        const stop = await unsubscribe;
        await stop?.().catch(() => {});
        listener.listening(false);
      },
    };
  };
}
