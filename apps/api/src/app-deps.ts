import type { CredentialCipher, OmniDb, SettingsService } from '@omni/db';
import type { JobRepository, PluginRegistry } from '@omni/sync-core';
import type { EventBus, JobQueue, ProfileSyncService } from '@omni/sync-worker';

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
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Services of the app (registered by the `services` plugin). */
    deps: AppDeps;
  }
}
