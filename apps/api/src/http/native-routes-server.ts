import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A request as Bun's router hands it: the Fetch request and the route's parameters (decoded). */
export interface NativeRequest extends Request {
  params: Record<string, string>;
}

/** What a native handler may ask of Bun's server. */
export interface NativeServer {
  /** The client's address, as node:http's `socket.remoteAddress`. */
  requestIP(request: Request): { address: string } | null;
}

/** Answers a request on Bun's own server, without node:http. */
export type NativeHandler = (request: NativeRequest, server?: NativeServer) => Response | Promise<Response>;

/** `Bun.serve` routes: pattern → handler per method. Other methods and paths reach node:http. */
export type NativeRoutes = Record<string, Partial<Record<'GET' | 'HEAD', NativeHandler>>>;

/** A node:http server that may also answer some routes on Bun's own server. */
export interface NativeRoutesServer extends Server {
  /** True when the last `listen` installed the native routes; false when Bun did not let it. */
  readonly nativeRoutesActive: boolean;
}

type ServeOptions = Record<string, unknown> & { routes?: unknown; onNodeHTTPRequest?: unknown };
type BunServe = (options: ServeOptions) => unknown;

/**
 * A node:http server for `handler` (Fastify's) whose `listen` also gives Bun's server the
 * `routes()` of that moment: requests matching one are answered natively — a `Response` whose
 * body is a `Bun.file` slice goes out with `sendfile(2)`, no copy through JavaScript — and every
 * other request reaches `handler` as before, on the same port and connection, with no hop between.
 *
 * Bun implements node:http on `Bun.serve` (its `listen` calls `Bun.serve` once, synchronously,
 * with an `onNodeHTTPRequest` callback) but offers no public way to add routes to it; so `listen`
 * wraps `Bun.serve` for the length of that one call and adds `routes` to the options it sees.
 * When that call does not happen as expected (a Bun that builds node:http otherwise),
 * `nativeRoutesActive` stays false and `handler` answers everything, routes included.
 */
export function createNativeRoutesServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  routes: () => NativeRoutes | null,
): NativeRoutesServer {
  const server = createServer(handler);
  const state = server as Server & { nativeRoutesActive: boolean };
  state.nativeRoutesActive = false;
  const listen = server.listen;
  server.listen = function (this: Server, ...args: unknown[]) {
    const wanted = routes();
    const bun = Bun as unknown as { serve: BunServe };
    const serve = bun.serve;
    let installed = false;
    if (wanted) {
      bun.serve = (options: ServeOptions) => {
        if (installed || typeof options.onNodeHTTPRequest !== 'function' || options.routes !== undefined)
          return serve.call(Bun, options);
        installed = true;
        return serve.call(Bun, { ...options, routes: wanted });
      };
    }
    try {
      return (listen as (...a: unknown[]) => Server).apply(this, args);
    } finally {
      bun.serve = serve;
      state.nativeRoutesActive = installed;
    }
  } as Server['listen'];
  return state;
}
