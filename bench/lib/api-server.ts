/**
 * The real HTTP app (`buildApp` of apps/api) listening on 127.0.0.1 over a throw-away database on
 * the local Postgres, with the in-process queue and event bus (nothing consumes the queue: the
 * benchmarks read, they do not sync) and production settings caching.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../apps/api/src/app.ts';
import type { AppDeps } from '../../apps/api/src/app-deps.ts';
import { CredentialCipher, SettingsService } from '../../packages/db/src/index.ts';
import { createTestDb, type TestDb } from '../../packages/db/src/testing.ts';
import { InProcessEventBus, InProcessQueue, ProfileSyncService } from '../../packages/runtime/src/index.ts';
import { JobRepository, PluginRegistry } from '../../packages/sync-core/src/index.ts';

/** The API key the bench app accepts. */
export const BENCH_API_KEY = 'bench-key';

/** A listening app and how to tear it down. */
export interface BenchApi {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  app: Awaited<ReturnType<typeof buildApp>>;
  deps: AppDeps;
  db: TestDb;
  /** `media.storagePath` of the app (a temp folder unless given). */
  mediaDir: string;
  close(): Promise<void>;
}

/** Options of {@link startBenchApi}. */
export interface BenchApiOptions {
  /** Media root to serve; a fresh temp folder (removed on close) when absent. */
  mediaDir?: string;
  /** MiB of the message-page cache, as `MESSAGE_PAGE_CACHE_MB` sets it; the production default when absent. */
  messagePageCacheMb?: number;
}

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds the app as `main.ts` does (minus the worker) and listens on a free 127.0.0.1 port. */
export async function startBenchApi(options: BenchApiOptions = {}): Promise<BenchApi> {
  const db = await createTestDb('postgres');
  const ownMedia = options.mediaDir === undefined;
  const mediaDir = options.mediaDir ?? mkdtempSync(join(tmpdir(), 'omni-bench-media-'));
  const settings = new SettingsService(db.db, { env: { MEDIA_STORAGE_PATH: mediaDir } });
  const cipher = new CredentialCipher(Buffer.alloc(32, 7));
  const plugins = new PluginRegistry([]);
  const queue = new InProcessQueue();
  const deps: AppDeps = {
    db,
    settings,
    cipher,
    apiKey: BENCH_API_KEY,
    plugins,
    jobs: new JobRepository(db.db),
    queue,
    events: new InProcessEventBus(),
    profiles: new ProfileSyncService(db.db, cipher, plugins, silentLog),
  };
  const app = await buildApp(
    deps,
    options.messagePageCacheMb === undefined
      ? {}
      : { messagePages: { maxBytes: options.messagePageCacheMb * 1024 * 1024 } },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('app has no TCP address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    app,
    deps,
    db,
    mediaDir,
    close: async () => {
      await app.close();
      await queue.close();
      await db.close();
      if (ownMedia) rmSync(mediaDir, { recursive: true, force: true });
    },
  };
}
