import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A file the server serves as it is. */
interface HostedFile {
  bytes: Uint8Array;
  contentType: string;
}

/** Options of {@link HostileMediaServer}. */
export interface HostileMediaServerOptions {
  /**
   * Time between two bytes of a tarpit, ms.
   * @defaultValue 500
   */
  tarpitIntervalMs?: number;
}

/**
 * A media server under an attacker's control, on 127.0.0.1 (reached in tests through
 * `MEDIA_ALLOW_ORIGINS`, like a private mirror): real files, and everything a hostile platform or
 * contact can point a media URL at.
 *
 * | path | answer |
 * | --- | --- |
 * | `/files/:name` | a file {@link HostileMediaServer.publish}ed |
 * | `/hop/:k/:name` | exactly `k` redirects within this origin, then the file |
 * | `/chain/:k?to=URL` | `k` redirects within this origin, then one more to `URL` |
 * | `/gone/:id` | 404 (makes a Discord plugin ask `refresh-urls`) |
 * | `/tarpit` | headers, then one byte every `tarpitIntervalMs`, forever |
 * | `/stall` | never answers |
 * | `/huge` | an endless body without `Content-Length` |
 * | `/huge-declared` | `Content-Length` of 10 GB, one byte, then nothing |
 *
 * `openTarpits` and `openStalls` count exchanges still open, so a test can see a download was
 * really cut, not just given up on.
 */
export class HostileMediaServer {
  readonly #server: Server;
  readonly #files = new Map<string, HostedFile>();
  readonly #interval: number;
  /** Requests received, by first path segment (`files`, `tarpit`, …). */
  readonly requests = new Map<string, number>();
  #openTarpits = 0;
  #openStalls = 0;

  private constructor(options: HostileMediaServerOptions) {
    this.#interval = options.tarpitIntervalMs ?? 500;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(options: HostileMediaServerOptions = {}): Promise<HostileMediaServer> {
    const server = new HostileMediaServer(options);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** `http://127.0.0.1:PORT`: the origin to put on `MEDIA_ALLOW_ORIGINS`. */
  get origin(): string {
    return `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }

  /** Tarpit answers still streaming. */
  get openTarpits(): number {
    return this.#openTarpits;
  }

  /** Stalled requests still open. */
  get openStalls(): number {
    return this.#openStalls;
  }

  /** Serves `bytes` at `/files/:name`; returns its URL. */
  publish(name: string, bytes: Uint8Array, contentType: string): string {
    this.#files.set(name, { bytes, contentType });
    return `${this.origin}/files/${encodeURIComponent(name)}`;
  }

  /** Stops listening and drops every open exchange. */
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.origin);
    const [kind = '', a = '', b = ''] = url.pathname.split('/').slice(1);
    this.requests.set(kind, (this.requests.get(kind) ?? 0) + 1);
    const redirect = (to: string) => {
      res.writeHead(302, { location: to });
      res.end();
    };
    switch (kind) {
      case 'files': {
        const file = this.#files.get(decodeURIComponent(a));
        if (!file) break;
        res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length });
        res.end(file.bytes);
        return;
      }
      case 'hop': {
        const k = Number(a);
        if (k > 1) {
          redirect(`/hop/${k - 1}/${b}`);
          return;
        }
        if (k === 1) {
          redirect(`/files/${b}`);
          return;
        }
        const file = this.#files.get(decodeURIComponent(b));
        if (!file) break;
        res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length });
        res.end(file.bytes);
        return;
      }
      case 'chain': {
        const k = Number(a);
        const to = url.searchParams.get('to') ?? '/';
        redirect(k > 0 ? `/chain/${k - 1}?to=${encodeURIComponent(to)}` : to);
        return;
      }
      case 'tarpit': {
        this.#openTarpits++;
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(Buffer.from([0x89]));
        const tick = setInterval(() => res.write(Buffer.from([0x50])), this.#interval);
        res.on('close', () => {
          clearInterval(tick);
          this.#openTarpits--;
        });
        return;
      }
      case 'stall': {
        this.#openStalls++;
        res.on('close', () => this.#openStalls--);
        return;
      }
      case 'huge': {
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = Buffer.alloc(64 * 1024, 0x42);
        chunk.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      case 'huge-declared': {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10 * 1024 ** 3) });
        res.write(Buffer.from([0x89]));
        return;
      }
      default:
        break;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }
}
