import { setDefaultTimeout } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialCipher, SettingsService } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  type CreateSyncRunnerOptions,
  createSyncRunner,
  InProcessEventBus,
  InProcessQueue,
  ProfileSyncService,
  RunnerExecutor,
  SingleProcessLock,
  WorkerRuntime,
} from '@omni/runtime';
import {
  AuthError,
  type ChannelPlugin,
  type ChannelProfile,
  hasSettings,
  JobRepository,
  PluginRegistry,
} from '@omni/sync-core';
import type { FastifyInstance } from 'fastify';
import { type BuildAppOptions, buildApp } from '../src/app.ts';
import type { AppDeps } from '../src/app-deps.ts';

/** Database- and process-backed tests get room on a loaded machine; none waits on a clock. */
setDefaultTimeout(60_000);

export const API_KEY = 'test-key';
export const GOOD_TOKEN = 'good-token';
export const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A Discord-shaped plugin that accepts {@link GOOD_TOKEN} only. */
export function fakeDiscordPlugin(profile: Partial<ChannelProfile> = {}): ChannelPlugin {
  return {
    id: 'discord',
    capabilities: {
      parts: ['profile', 'messages', 'contacts', 'groups'],
      onDemandHistory: true,
      mediaNeedsDecryption: false,
      defaultRateLimits: { messagesPerMinute: 50, contactsPerMinute: 100 },
    },
    async getProfile(ctx) {
      if (ctx.instance.credentials?.token !== GOOD_TOKEN)
        throw new AuthError('401: Unauthorized', { status: 401 });
      return {
        name: 'omni-bot',
        avatarUrl: 'https://cdn.example/avatar.png',
        bio: 'a bot',
        ownerIdentifier: '1234',
        platformMetadata: { botId: '1234', isBot: true, guildCount: 2 },
        ...profile,
      };
    },
    async listChats() {
      return { chats: [], warnings: [] };
    },
    // biome-ignore lint/correctness/useYield: an empty history
    async *fetchHistory() {
      return;
    },
  };
}

/** A built app over a fresh Postgres database, and how to tear it down. */
export interface TestApp {
  app: FastifyInstance;
  deps: AppDeps;
  db: TestDb;
  queue: InProcessQueue;
  events: InProcessEventBus;
  mediaDir: string;
  close(): Promise<void>;
}

/** Builds the app over a throw-away database with an in-process queue (nothing consumes it). */
export async function createTestApp(
  plugins: ChannelPlugin[] = [fakeDiscordPlugin()],
  appOptions: BuildAppOptions = {},
): Promise<TestApp> {
  const db = await createTestDb('postgres');
  const mediaDir = mkdtempSync(join(tmpdir(), 'omni-media-'));
  // The media folder is set at deploy time (its environment variable), as in production.
  const settings = new SettingsService(db.db, { env: { MEDIA_STORAGE_PATH: mediaDir }, cacheTtlMs: 0 });
  const cipher = new CredentialCipher(Buffer.alloc(32, 7));
  // As openServices does: plugins whose behaviour follows settings get them.
  for (const plugin of plugins) if (hasSettings(plugin)) plugin.useSettings(settings);
  const lookup = new PluginRegistry(plugins);
  const queue = new InProcessQueue();
  const events = new InProcessEventBus();
  const deps: AppDeps = {
    db,
    settings,
    cipher,
    apiKey: API_KEY,
    plugins: lookup,
    jobs: new JobRepository(db.db),
    queue,
    events,
    profiles: new ProfileSyncService(db.db, cipher, lookup, silentLog),
  };
  const app = await buildApp(deps, appOptions);
  await app.ready();
  return {
    app,
    deps,
    db,
    queue,
    events,
    mediaDir,
    close: async () => {
      await app.close();
      await queue.close();
      await db.close();
      rmSync(mediaDir, { recursive: true, force: true });
    },
  };
}

/** Headers with the API key. */
export const auth = { 'x-api-key': API_KEY };

/** Creates an instance through `POST /instances`; its id. */
export async function createInstance(
  t: Pick<TestApp, 'app'>,
  name: string,
  channel: 'discord' | 'whatsapp-baileys' = 'discord',
): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v2/instances',
    headers: auth,
    payload: { name, channel },
  });
  return res.json().data.id;
}

/**
 * The embedded worker of a test app, as `main.ts` builds it without NATS (the production
 * `createSyncRunner` over the app's own services, its queue and a single-process leader), started.
 * `runner` options go to `createSyncRunner` (lease 5 s by default); the caller stops it.
 */
export async function startTestWorker(
  t: TestApp,
  runner: CreateSyncRunnerOptions = {},
): Promise<WorkerRuntime> {
  const runtime = new WorkerRuntime({
    db: t.db.db,
    settings: t.deps.settings,
    jobs: t.deps.jobs,
    queue: t.queue,
    profiles: t.deps.profiles,
    plugins: t.deps.plugins,
    executor: new RunnerExecutor(
      createSyncRunner({ ...t.deps, db: t.db }, silentLog, { leaseMs: 5_000, ...runner }),
    ),
    lock: new SingleProcessLock(),
    log: silentLog,
  });
  await runtime.start();
  return runtime;
}
