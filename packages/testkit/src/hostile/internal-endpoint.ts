import { createServer, type Server } from 'node:net';

/**
 * A stand-in for an internal service (an admin port, a metadata endpoint) on 127.0.0.1: it counts
 * every TCP connection it receives and would answer `internal secret`. Hostile media tests point
 * URLs at it in every spelling and expect {@link InternalEndpoint.connections} to stay 0.
 */
export class InternalEndpoint {
  readonly #server: Server;
  #connections = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(): Promise<InternalEndpoint> {
    let endpoint: InternalEndpoint | null = null;
    const server = createServer((socket) => {
      if (endpoint) endpoint.#connections++;
      socket.on('error', () => {});
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 15\r\n\r\ninternal secret');
    });
    endpoint = new InternalEndpoint(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** TCP connections received so far. */
  get connections(): number {
    return this.#connections;
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
