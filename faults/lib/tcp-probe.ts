import { connect } from 'node:net';

/** Connects to 127.0.0.1:`port` and resolves with the first bytes the server sends (or `null` on error/timeout). */
export function firstBytes(port: number, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (value: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once('data', (data) => done(data.toString('utf8')));
    socket.once('error', () => done(null));
  });
}

/** A free TCP port on 127.0.0.1 (asked of the kernel). */
export async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}
