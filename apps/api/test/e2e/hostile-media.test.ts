import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDiscordPlugin } from '@omni/channel-discord';
import type { WorkerRuntime } from '@omni/runtime';
import { MediaFetcher } from '@omni/sync-core';
import { FakeDiscord } from '@omni/testkit/discord';
import {
  DISCORD_REBOUND_HOSTS,
  HOSTILE_MARKUP,
  type HostileMediaCase,
  HostileMediaServer,
  hostileMediaCases,
  InternalEndpoint,
  mapResolver,
} from '@omni/testkit/hostile';
import { auth, createTestApp, startTestWorker, type TestApp } from '../helpers.ts';

/**
 * A Discord server under an attacker's control: every attachment URL of its one channel is one of
 * the hostile cases (file URLs, internal addresses in every spelling, allowed names resolving
 * to internal addresses, redirect chains, refresh answers pointing inside, tarpits, stalls, endless
 * bodies, markup), plus two legitimate files on an allowed origin. Synced with media through the
 * API and the production runner (`createSyncRunner`) against Postgres.
 */

const PNG = Buffer.concat([
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  ),
  Buffer.alloc(5000, 7),
]);
const PNG2 = Buffer.concat([PNG, Buffer.from('second file')]);

let internal: InternalEndpoint;
let server: HostileMediaServer;
let fake: FakeDiscord;
let t: TestApp;
let runtime: WorkerRuntime;
let cases: HostileMediaCase[];

beforeAll(async () => {
  internal = await InternalEndpoint.start();
  server = await HostileMediaServer.start({ tarpitIntervalMs: 200 });
  const world = { internal, server };
  cases = [
    ...hostileMediaCases(world, 'discord'),
    ...HOSTILE_MARKUP.map(
      (m): HostileMediaCase => ({
        name: m.name,
        url: server.publish(`${m.name.replaceAll(' ', '-')}.bin`, Buffer.from(m.body), m.contentType),
        contentType: m.contentType,
        expect: 'type',
      }),
    ),
    {
      name: 'legitimate file',
      url: server.publish('legit.png', PNG, 'image/png'),
      contentType: 'image/png',
      expect: 'stored',
    },
    {
      name: 'legitimate file behind 3 redirects within the allowed origin',
      url: (server.publish('legit2.png', PNG2, 'image/png'), `${server.origin}/hop/3/legit2.png`),
      contentType: 'image/png',
      expect: 'stored',
    },
  ];
  const byUrl = new Map(cases.map((c) => [c.url, c]));
  fake = await FakeDiscord.start({
    data: {
      nowMs: Date.now() - 1000,
      mix: {
        voice: 0,
        image: 1,
        pdf: 0,
        video: 0,
        audio: 0,
        sticker: 0,
        embed: 0,
        system: 0,
        reply: 0,
        edited: 0,
      },
      guilds: [
        { name: 'hostile', channels: [{ name: 'drops', messageCount: cases.length, historyDays: 2 }] },
      ],
    },
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
    // The attacker chooses every attachment's URL, declared type and (lying) size.
    attachmentRewrite: (a, { n }) => {
      const c = cases[n] as HostileMediaCase;
      return { ...a, url: c.url, proxy_url: c.url, content_type: c.contentType, size: 100 };
    },
    refreshRewrite: (original) => byUrl.get(original)?.refreshTo ?? null,
  });
  t = await createTestApp([
    createDiscordPlugin({ api: fake.apiUrl, historyRequestsPerWindow: 1000, historyWindowMs: 1000 }),
  ]);
  await t.deps.settings.update({
    'sync.discord.messagesPerMinute': 60_000,
    'media.downloadTimeoutSeconds': 2,
    'media.maxFileSizeMb': 1,
  });
  const _services = { ...t.deps, db: t.db };
  runtime = await startTestWorker(t, {
    // Only the attacker's media server is let through as it is (as MEDIA_ALLOW_ORIGINS would),
    // not the fake Discord API's origin; Discord's media hosts resolve to internal addresses.
    mediaFetcher: new MediaFetcher({
      settings: t.deps.settings,
      allowOrigins: [server.origin],
      resolve: mapResolver(DISCORD_REBOUND_HOSTS),
    }),
  });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await t?.close();
  await fake?.stop();
  await server?.stop();
  await internal?.stop();
}, 60_000);

const api = (method: 'GET' | 'POST' | 'PATCH', path: string, payload?: object) =>
  t.app.inject({ method, url: `/api/v2${path}`, headers: auth, ...(payload ? { payload } : {}) });

async function waitForEnd(instanceId: string, jobId: string) {
  for (;;) {
    const job = (await api('GET', `/instances/${instanceId}/sync/${jobId}`)).json().data;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await Bun.sleep(50);
  }
}

test('every hostile attachment is refused under its reason, nothing internal is reached, legitimate files are stored byte for byte', async () => {
  const instanceId = (await api('POST', '/instances', { name: 'hostile-discord', channel: 'discord' })).json()
    .data.id;
  expect((await api('POST', `/instances/${instanceId}/connect`, { token: fake.token })).statusCode).toBe(200);
  const created = await api('POST', `/instances/${instanceId}/sync`, {
    type: 'messages',
    depth: 'all',
    downloadMedia: true,
  });
  expect(created.statusCode).toBe(202);
  const job = await waitForEnd(instanceId, created.json().data.jobId);
  expect(job.status).toBe('completed');

  const rows = await t.db.db
    .selectFrom('messages')
    .select(['media_local_path', 'media_metadata'])
    .where('instance_id', '=', instanceId)
    .execute();
  expect(rows.length).toBe(cases.length);
  const storagePath = await t.deps.settings.get('media.storagePath');
  for (const row of rows) {
    const meta = row.media_metadata as { url: string; skipped?: string };
    const c = cases.find((x) => x.url === meta.url) as HostileMediaCase;
    if (c.expect === 'stored') {
      expect(row.media_local_path).not.toBeNull();
      const bytes = readFileSync(join(storagePath, row.media_local_path as string));
      expect(bytes.equals(c.url.endsWith('legit2.png') ? PNG2 : PNG)).toBe(true);
      const served = await t.app.inject({ url: `/api/v2/media/${row.media_local_path}`, headers: auth });
      expect(served.statusCode).toBe(200);
      expect(served.headers['content-type']).toBe('image/png');
      expect(served.headers['x-content-type-options']).toBe('nosniff');
      expect(served.rawPayload.equals(bytes)).toBe(true);
    } else {
      expect({ name: c.name, skipped: meta.skipped }).toEqual({ name: c.name, skipped: c.expect });
      expect(row.media_local_path).toBeNull();
    }
  }

  const refused = cases.filter((c) => c.expect !== 'stored');
  const tally: Record<string, number> = {};
  for (const c of refused) tally[c.expect] = (tally[c.expect] ?? 0) + 1;
  expect(job.progress.mediaSkipReasons).toEqual(tally);
  expect(job.progress.mediaSkipped).toBe(refused.length);
  expect(job.progress.mediaDownloaded).toBe(cases.length - refused.length);
  expect(job.progress.mediaFailed).toBe(0);
  expect(Object.keys(tally).sort()).toEqual([
    'address',
    'host',
    'redirect',
    'scheme',
    'size',
    'timeout',
    'type',
  ]);

  // Never connected to; tarpits and stalls were cut, not left open.
  expect(internal.connections).toBe(0);
  expect(server.openTarpits).toBe(0);
  expect(server.openStalls).toBe(0);
}, 90_000);
