import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** What `/ready` asks of a worker process. */
export interface WorkerReadinessProbe {
  /** Resolves true while the database answers. */
  database(): Promise<boolean>;
  /** Resolves true while the queue (NATS) answers. */
  queue(): Promise<boolean>;
}

/** Where `/metrics` reads from (the runtime's `FleetMetrics`). */
export interface WorkerMetricsSource {
  scrape(): Promise<{ contentType: string; body: string }>;
}

/**
 * A worker's own small HTTP endpoint (`WORKER_HEALTH_PORT`), for orchestrators: `GET /live` is 200
 * while the process runs; `GET /ready` is 200 only once start-up (migrations included) finished,
 * the database and the queue answer, and shutdown has not begun — 503 with the reasons otherwise.
 * It starts before the services open, so `/ready` fails while migrations run. `GET /metrics` serves
 * the worker's metrics (Prometheus text) once started — behind `Authorization: Bearer
 * <METRICS_TOKEN>` when a token is given.
 */
export class WorkerHealthServer {
  readonly #server: Server;
  #probe: WorkerReadinessProbe | null = null;
  #metrics: WorkerMetricsSource | null = null;
  #stopping = false;
  readonly #metricsToken: Buffer | null;

  /** @param options.metricsToken `METRICS_TOKEN`: required as a bearer token by `/metrics`. */
  constructor(options: { metricsToken?: string } = {}) {
    const digest = (text: string) => createHash('sha256').update(text).digest();
    this.#metricsToken = options.metricsToken ? digest(options.metricsToken) : null;
    this.#server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        const allowed =
          !this.#metricsToken ||
          (bearer !== undefined && timingSafeEqual(digest(bearer), this.#metricsToken));
        if (!allowed || !this.#metrics) {
          response.writeHead(allowed ? 503 : 401, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { code: allowed ? 'STARTING' : 'UNAUTHORIZED' } }));
          return;
        }
        void this.#metrics.scrape().then(({ contentType, body }) => {
          response.writeHead(200, { 'content-type': contentType });
          response.end(body);
        });
        return;
      }
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

  /** Start-up finished: readiness now depends on the probe; `/metrics` serves `metrics`. */
  started(probe: WorkerReadinessProbe, metrics: WorkerMetricsSource | null = null): void {
    this.#probe = probe;
    this.#metrics = metrics;
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
