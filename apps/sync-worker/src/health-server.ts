import { createServer, type Server } from 'node:http';

/** What `/ready` asks of a worker process. */
export interface WorkerReadinessProbe {
  /** Resolves true while the database answers. */
  database(): Promise<boolean>;
  /** Resolves true while the queue (NATS) answers. */
  queue(): Promise<boolean>;
}

/**
 * A worker's own small HTTP endpoint (`WORKER_HEALTH_PORT`), for orchestrators: `GET /live` is 200
 * while the process runs; `GET /ready` is 200 only once start-up (migrations included) finished,
 * the database and the queue answer, and shutdown has not begun — 503 with the reasons otherwise.
 * It starts before the services open, so `/ready` fails while migrations run.
 */
export class WorkerHealthServer {
  readonly #server: Server;
  #probe: WorkerReadinessProbe | null = null;
  #stopping = false;

  constructor() {
    this.#server = createServer((request, response) => {
      void this.#answer(request.url ?? '/').then(({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      });
    });
  }

  /** Listens on `port` (127.0.0.1 unless `host` says otherwise). */
  async listen(port: number, host = '0.0.0.0'): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
  }

  /** The bound port (after {@link listen}). */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Start-up finished: readiness now depends on the probe. */
  started(probe: WorkerReadinessProbe): void {
    this.#probe = probe;
  }

  /** Shutdown began: `/ready` answers 503 from now on. */
  stopping(): void {
    this.#stopping = true;
  }

  /** Stops listening. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(url: string): Promise<{ status: number; body: unknown }> {
    const path = url.split('?')[0];
    if (path === '/live') return { status: 200, body: { live: true } };
    if (path !== '/ready') return { status: 404, body: { error: { code: 'NOT_FOUND', message: path } } };
    const reasons: string[] = [];
    if (this.#stopping) reasons.push('stopping');
    if (!this.#probe) reasons.push('starting');
    else {
      const probe = this.#probe;
      const [dbOk, queueOk] = await Promise.all([
        probe.database().catch(() => false),
        probe.queue().catch(() => false),
      ]);
      if (!dbOk) reasons.push('database');
      if (!queueOk) reasons.push('queue');
    }
    return { status: reasons.length === 0 ? 200 : 503, body: { ready: reasons.length === 0, reasons } };
  }
}
