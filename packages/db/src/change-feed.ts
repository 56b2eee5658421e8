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

/**
 * `LISTEN` on Postgres: a connection of its own (TCP keep-alive on), opened at once; when it is lost
 * the listener hears `listening(false)` and it reconnects with growing delays (100 ms … 5 s).
 */
export function postgresListen(url: string): ListenChanges {
  return (channel, listener) => {
    checkChannel(channel);
    let closed = false;
    let client: pg.Client | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay: number = RECONNECT_MS.first;
    const connect = async () => {
      if (closed) return;
      const c = new pg.Client({ connectionString: url, keepAlive: true });
      client = c;
      let lost = false;
      const lose = () => {
        if (lost) return;
        lost = true;
        listener.listening(false);
        c.end().catch(() => {});
        if (closed) return;
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, RECONNECT_MS.last);
      };
      c.on('error', lose);
      c.on('end', lose);
      c.on('notification', (n) => {
        if (n.channel === channel && !lost) listener.notify(n.payload ?? '');
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
      } catch {
        lose();
        return;
      }
      if (closed || lost) return;
      delay = RECONNECT_MS.first;
      listener.listening(true);
    };
    void connect();
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        const c = client;
        client = null;
        if (c) await c.end().catch(() => {});
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
