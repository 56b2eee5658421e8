import type { CredentialCipher, OmniDb, SettingsService } from '@omni/db';
import type { EventBus, FleetMetrics, JobQueue, ProfileSyncService, WhatsAppGateway } from '@omni/runtime';
import type { JobRepository, PluginRegistry, RateLimiter } from '@omni/sync-core';

/** Everything the HTTP app needs, built by `main.ts` (or by a test). */
export interface AppDeps {
  db: OmniDb;
  settings: SettingsService;
  cipher: CredentialCipher;
  /** The key clients send as `x-api-key`. */
  apiKey: string;
  plugins: PluginRegistry;
  jobs: JobRepository;
  queue: JobQueue;
  events: EventBus;
  profiles: ProfileSyncService;
  /**
   * The process's rate limiter: the plan's probe requests draw from the same budget as the jobs.
   * @defaultValue one reading the rates from the settings table, sharing the budget through the database
   */
  limiter?: RateLimiter;
  /**
   * How WhatsApp sessions are reached: this process's plugin (embedded) or the sync-workers over
   * NATS (distributed).
   * @defaultValue the `whatsapp-baileys` plugin in `plugins`, if one is registered
   */
  whatsapp?: WhatsAppGateway | null;
  /**
   * Aborted when the process begins to shut down; `/ready` then answers 503 so traffic drains.
   * @defaultValue never aborted
   */
  shutdown?: AbortSignal;
  /**
   * This process's metrics: `GET /metrics` serves them and every answered request is timed.
   * @defaultValue none (`/metrics` answers 404)
   */
  metrics?: FleetMetrics;
  /**
   * `METRICS_TOKEN`: `/metrics` also accepts `Authorization: Bearer <token>`.
   * @defaultValue none (the API key only)
   */
  metricsToken?: string;
  /**
   * `PUBLIC_URL`: the origin clients reach the API at (`https://sync.example.com`), used for
   * absolute media links instead of the request's Host header.
   * @defaultValue the request's own origin (a plain Host header only)
   */
  publicUrl?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Services of the app (registered by the `services` plugin). */
    deps: AppDeps;
  }
}
