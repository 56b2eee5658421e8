import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWhatsAppPlugin, MemoryAuthStateStore, type WhatsAppPlugin } from '@omni/channel-whatsapp';
import type { WorkerRuntime } from '@omni/runtime';
import { DedupeWriter, HistoryIngestor, MediaFetcher } from '@omni/sync-core';
import {
  HOSTILE_MARKUP,
  type HostileExpectation,
  HostileMediaServer,
  hostileMediaCases,
  InternalEndpoint,
  mapResolver,
  WHATSAPP_REBOUND_HOSTS,
} from '@omni/testkit/hostile';
import {
  createFakeSocketFactory,
  FakeMediaServer,
  generateTextHistory,
  type PublishedMedia,
  waMessages,
} from '@omni/testkit/whatsapp';
import { auth, createTestApp, startTestWorker, type TestApp } from '../helpers.ts';

/**
 * Any contact can send a synced WhatsApp account a media message whose URL it chooses. Messages
 * carrying every hostile case of the issue (and markup, and two legitimate encrypted files, one
 * behind redirects within an allowed origin) are paged in by a media sync through the API and the
 * production runner (`createSyncRunner`) against Postgres.
 */

const HOUR = 3600;
const NOW = Math.floor(Date.now() / 1000) - 60;
const ME = { id: '15559990000@s.whatsapp.net', name: 'Me' };
const MALLORY = '15550006666@s.whatsapp.net';
const PNG = Buffer.concat([
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  ),
  Buffer.alloc(3000, 9),
]);
const PNG2 = Buffer.concat([PNG, Buffer.from('behind redirects')]);

interface WaCase {
  name: string;
  media: PublishedMedia;
  expect: HostileExpectation;
  plain?: Buffer;
}

let internal: InternalEndpoint;
let server: HostileMediaServer;
let waMedia: FakeMediaServer;
let plugin: WhatsAppPlugin;
let t: TestApp;
let runtime: WorkerRuntime;
let cases: WaCase[];

beforeAll(async () => {
  internal = await InternalEndpoint.start();
  server = await HostileMediaServer.start({ tarpitIntervalMs: 200 });
  waMedia = new FakeMediaServer();
  const keys = await waMedia.publish(PNG, 'image', 'image/png');
  const legit2 = await waMedia.publish(PNG2, 'image', 'image/png');
  const encrypted = new Uint8Array(await (await fetch(legit2.url)).arrayBuffer());
  server.publish('wa-legit2.enc', encrypted, 'application/octet-stream');
  cases = [
    ...hostileMediaCases({ internal, server }, 'whatsapp').map((c) => ({
      name: c.name,
      media: { ...keys, url: c.url, mimetype: c.contentType },
      expect: c.expect,
    })),
    ...(await Promise.all(
      HOSTILE_MARKUP.map(async (m) => ({
        name: m.name,
        media: await waMedia.publish(Buffer.from(m.body), 'image', m.contentType),
        expect: 'type' as const,
      })),
    )),
    { name: 'legitimate file', media: keys, expect: 'stored', plain: PNG },
    {
      name: 'legitimate file behind 2 redirects within an allowed origin',
      media: { ...legit2, url: `${server.origin}/hop/2/wa-legit2.enc` },
      expect: 'stored',
      plain: PNG2,
    },
  ];
  const messages = cases.map((c, i) =>
    waMessages.image({ id: `H${i}`, chat: MALLORY, timestamp: NOW - (i + 2) * HOUR }, c.media, c.name),
  );
  const recent = generateTextHistory({ chat: MALLORY, count: 3, newest: NOW, spacing: 60, idPrefix: 'T' });
  const fake = createFakeSocketFactory({
    me: ME,
    media: waMedia,
    chats: [{ jid: MALLORY, name: 'Mallory', messages: [...messages, ...recent] }],
    bootstrapSince: NOW - HOUR,
  });
  plugin = createWhatsAppPlugin({ socketFactory: fake.factory, authStore: new MemoryAuthStateStore() });
  t = await createTestApp([plugin]);
  await t.deps.settings.update({
    'sync.whatsapp.messagesPerMinute': 600,
    'media.downloadTimeoutSeconds': 2,
    'media.maxFileSizeMb': 1,
  });
  const ingestor = new HistoryIngestor(t.db.db, new DedupeWriter(t.db.db));
  plugin.setHistoryHandler(async (chunk) => {
    await ingestor.ingest(chunk);
  });
  runtime = await startTestWorker(t, {
    // The fake media servers on 127.0.0.1 pass as they are (as MEDIA_ALLOW_ORIGINS would);
    // WhatsApp's media hosts resolve to internal addresses.
    mediaFetcher: new MediaFetcher({
      settings: t.deps.settings,
      allowOrigins: [server.origin, waMedia.origin],
      resolve: mapResolver(WHATSAPP_REBOUND_HOSTS),
    }),
  });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await plugin?.close();
  await t?.close();
  await waMedia?.close();
  await server?.stop();
  await internal?.stop();
}, 60_000);

const api = (method: 'GET' | 'POST', path: string, payload?: object) =>
  t.app.inject({ method, url: `/api/v2${path}`, headers: auth, ...(payload ? { payload } : {}) });

test("a contact's media URLs are refused under their reasons, nothing internal is reached, legitimate files are stored byte for byte", async () => {
  const id = (await api('POST', '/instances', { name: 'hostile-wa', channel: 'whatsapp-baileys' })).json()
    .data.id;
  // What the WhatsApp runtime does once the phone is linked.
  await t.db.db.updateTable('instances').set({ connection_state: 'open' }).where('id', '=', id).execute();
  await plugin.connect(id);
  await plugin.flush(id);
  const created = await api('POST', `/instances/${id}/sync`, {
    type: 'messages',
    depth: 'all',
    downloadMedia: true,
  });
  expect(created.statusCode).toBe(202);
  let job: { status: string; progress: Record<string, unknown> };
  for (;;) {
    job = (await api('GET', `/instances/${id}/sync/${created.json().data.jobId}`)).json().data;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) break;
    await Bun.sleep(50);
  }
  expect(job.status).toBe('completed');

  const rows = await t.db.db
    .selectFrom('messages')
    .select(['external_id', 'media_local_path', 'media_metadata'])
    .where('instance_id', '=', id)
    .where('has_media', '=', true)
    .execute();
  expect(rows.length).toBe(cases.length);
  const storagePath = await t.deps.settings.get('media.storagePath');
  for (const row of rows) {
    const c = cases[Number(row.external_id.slice(1))] as WaCase;
    const meta = row.media_metadata as { skipped?: string };
    if (c.expect === 'stored') {
      const bytes = readFileSync(join(storagePath, row.media_local_path as string));
      expect(bytes.equals(c.plain as Buffer)).toBe(true);
    } else {
      expect({ name: c.name, skipped: meta.skipped }).toEqual({ name: c.name, skipped: c.expect });
      expect(row.media_local_path).toBeNull();
    }
  }

  const tally: Record<string, number> = {};
  for (const c of cases) if (c.expect !== 'stored') tally[c.expect] = (tally[c.expect] ?? 0) + 1;
  expect(job.progress.mediaSkipReasons).toEqual(tally);
  expect(Object.keys(tally).sort()).toEqual([
    'address',
    'host',
    'redirect',
    'scheme',
    'size',
    'timeout',
    'type',
  ]);
  expect(job.progress.mediaDownloaded).toBe(2);
  expect(job.progress.mediaFailed).toBe(0);
  expect(internal.connections).toBe(0);
  expect(server.openTarpits).toBe(0);
  expect(server.openStalls).toBe(0);
}, 90_000);
