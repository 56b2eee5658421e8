import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { API_KEY } from '../helpers.ts';
import { type OmniWorld, startOmniWorld } from './omni-world.ts';
import { expectShape, SDK } from './sdk-shapes.ts';

/**
 * Every route Omni's SDK and dashboard call, with the shapes of the SDK's types, through a real
 * listening server, a real worker and the Discord plugin against a fake Discord.
 */
const DASHBOARD = 'http://dashboard.example:5173';
let w: OmniWorld;
let instanceId: string;
let messagesJob: string;

beforeAll(async () => {
  w = await startOmniWorld([DASHBOARD]);
}, 120_000);
afterAll(async () => {
  await w?.close();
}, 60_000);

describe('login, health, CORS', () => {
  test('auth.validate: valid key → {valid, keyPrefix, keyName, scopes}; a wrong one → 401 with a code', async () => {
    const ok = await w.call('POST', '/auth/validate');
    expect(ok.status).toBe(200);
    expectShape(ok.body.data, SDK.AuthValidateResponse, 'auth');
    expect(ok.body.data.valid).toBe(true);
    expect(API_KEY.startsWith(ok.body.data.keyPrefix)).toBe(true);
    const bad = await w.call('POST', '/auth/validate', { key: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('UNAUTHORIZED');
  });

  test('the OpenAPI document lists the routes Omni calls', async () => {
    const doc = await w.call('GET', '/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    for (const path of [
      '/api/v2/auth/validate',
      '/api/v2/chats',
      '/api/v2/chats/{id}',
      '/api/v2/chats/{id}/messages',
      '/api/v2/chats/{id}/participants',
      '/api/v2/messages/{id}',
      '/api/v2/events',
      '/api/v2/settings/{key}',
      '/api/v2/instances/{id}/restart',
      '/api/v2/instances/{id}/resync',
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
  });

  test("health: Omni's document at the top level", async () => {
    const res = await w.call('GET', '/health', { key: null });
    expect(res.status).toBe(200);
    expectShape(res.body, SDK.HealthResponse, 'health');
    expect(res.body.status).toBe('healthy');
    expect(res.body.checks.database.status).toBe('ok');
  });

  test('CORS: an allowed origin gets its preflight answered before auth; others get no CORS headers', async () => {
    const preflight = await fetch(`${w.baseUrl}/api/v2/instances`, {
      method: 'OPTIONS',
      headers: {
        origin: DASHBOARD,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-api-key,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key');
    const get = await w.call('GET', '/instances', { headers: { origin: DASHBOARD } });
    expect(get.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    const other = await w.call('GET', '/instances', { headers: { origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('instances', () => {
  test("create accepts, stores and echoes Omni's agent fields; bad values are 400 with a code", async () => {
    const created = await w.call('POST', '/instances', {
      body: {
        name: 'dash',
        channel: 'discord',
        agentProviderId: 'prov-1',
        agentId: '9d1f8f3e-1111-4111-8111-111111111111',
        agentTimeout: 120,
        agentStreamMode: true,
      },
    });
    expect(created.status).toBe(201);
    expectShape(created.body.data, SDK.Instance, 'instance');
    expect(created.body.data).toMatchObject({
      agentProviderId: 'prov-1',
      agentTimeout: 120,
      agentStreamMode: true,
    });
    instanceId = created.body.data.id;
    const patched = await w.call('PATCH', `/instances/${instanceId}`, {
      body: { agentTimeout: 60, isDefault: true },
    });
    expect(patched.body.data).toMatchObject({ agentTimeout: 60, isDefault: true, agentProviderId: 'prov-1' });
    const bad = await w.call('POST', '/instances', {
      body: { name: 'x', channel: 'discord', agentTimeout: 'soon' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
  });

  test('list filters by channel and status, comma lists; a bad status is 400', async () => {
    const both = await w.call('GET', '/instances?channel=discord,whatsapp-baileys&status=active,inactive');
    expect(both.status).toBe(200);
    expectShape(both.body.meta, SDK.PaginationMeta, 'meta');
    expect(both.body.items.map((i: { id: string }) => i.id)).toContain(instanceId);
    expect((await w.call('GET', '/instances?channel=whatsapp-baileys')).body.items).toHaveLength(0);
    expect((await w.call('GET', '/instances?status=inactive')).body.items).toHaveLength(0);
    const bad = await w.call('GET', '/instances?status=sleeping');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
  });

  test('connect {token, forceNewQr} answers {status, message}; restart too; qr is WhatsApp-only', async () => {
    const connected = await w.call('POST', `/instances/${instanceId}/connect`, {
      body: { token: w.fake.token, forceNewQr: false },
    });
    expect(connected.status).toBe(200);
    expectShape(connected.body.data, SDK.ConnectResult, 'connect');
    expect(connected.body.data.status).toBe('connected');
    const restarted = await w.call('POST', `/instances/${instanceId}/restart`);
    expect(restarted.status).toBe(200);
    expectShape(restarted.body.data, SDK.ConnectResult, 'restart');
    const status = await w.call('GET', `/instances/${instanceId}/status`);
    expect(status.body.data).toMatchObject({ isConnected: true });
    expect((await w.call('GET', `/instances/${instanceId}/qr`)).status).toBe(422);
    expect(
      (await w.call('POST', `/instances/${instanceId}/connect`, { body: { forceNewQr: 'yes' } })).status,
    ).toBe(400);
  });
});

describe('syncs', () => {
  test('startSync, listSyncs {status: "pending,running"}, getSyncStatus, and the contacts and groups syncs', async () => {
    const started = await w.call('POST', `/instances/${instanceId}/sync`, {
      body: { type: 'messages', depth: 'all' },
    });
    expect(started.status).toBe(202);
    expectShape(started.body.data, SDK.SyncJobCreated, 'startSync');
    messagesJob = started.body.data.jobId;
    const active = await w.call('GET', `/instances/${instanceId}/sync?status=pending,running`);
    expect(active.status).toBe(200);
    for (const job of active.body.items) expect(['pending', 'running']).toContain(job.status);
    const job = await w.waitForJob(instanceId, messagesJob);
    expect(job.status).toBe('completed');
    expectShape(job, SDK.SyncJobStatus, 'getSyncStatus');
    for (const type of ['contacts', 'groups'] as const) {
      const other = await w.call('POST', `/instances/${instanceId}/sync`, { body: { type } });
      expect((await w.waitForJob(instanceId, other.body.data.jobId)).status).toBe('completed');
    }
    const listed = await w.call('GET', `/instances/${instanceId}/sync?status=completed&limit=10`);
    expect(listed.body.items).toHaveLength(3);
    for (const item of listed.body.items) expectShape(item, SDK.SyncJobSummary, 'listSyncs');
    expect((await w.call('GET', `/instances/${instanceId}/sync?status=done`)).status).toBe(400);
  });

  test('the sync events: filtered by instance and type, keyset-paged', async () => {
    const all = await w.call('GET', `/events?instanceId=${instanceId}&limit=2`);
    expect(all.status).toBe(200);
    for (const e of all.body.items) expectShape(e, SDK.Event, 'event');
    expect(all.body.meta.hasMore).toBe(true);
    const seen = new Set<string>(all.body.items.map((e: { id: string }) => e.id));
    let cursor = all.body.meta.cursor;
    while (cursor) {
      const page = await w.call('GET', `/events?instanceId=${instanceId}&limit=2&cursor=${cursor}`);
      for (const e of page.body.items) seen.add(e.id);
      cursor = page.body.meta.cursor;
    }
    expect(seen.size).toBe(6);
    const completed = await w.call('GET', `/events?instanceId=${instanceId}&eventType=sync.completed`);
    expect(completed.body.items).toHaveLength(3);
    expect(completed.body.items.every((e: { eventType: string }) => e.eventType === 'sync.completed')).toBe(
      true,
    );
    expect((await w.call('GET', '/events?cursor=garbage')).status).toBe(400);
  });
});

describe('chats and messages', () => {
  test('chats.list: one entity per synced chat, filtered, sorted, keyset-paged', async () => {
    const res = await w.call('GET', `/chats?instanceId=${instanceId}&limit=3`);
    expect(res.status).toBe(200);
    for (const chat of res.body.items) expectShape(chat, SDK.Chat, 'chat');
    const ids = new Set<string>(res.body.items.map((c: { id: string }) => c.id));
    let cursor = res.body.meta.cursor;
    let last = res.body.items.at(-1).lastMessageAt;
    while (cursor) {
      const page = await w.call('GET', `/chats?instanceId=${instanceId}&limit=3&cursor=${cursor}`);
      for (const chat of page.body.items) {
        ids.add(chat.id);
        if (chat.lastMessageAt && last)
          expect(Date.parse(chat.lastMessageAt)).toBeLessThanOrEqual(Date.parse(last));
        last = chat.lastMessageAt ?? last;
      }
      cursor = page.body.meta.cursor;
    }
    const rows = await w.t.db.db
      .selectFrom('chats')
      .select('id')
      .where('instance_id', '=', instanceId)
      .execute();
    expect(ids.size).toBe(rows.length);
    const threads = await w.call('GET', `/chats?instanceId=${instanceId}&chatType=thread&limit=100`);
    expect(threads.body.items.length).toBeGreaterThan(0);
    expect(threads.body.items.every((c: { chatType: string }) => c.chatType === 'thread')).toBe(true);
    const noThreads = await w.call(
      'GET',
      `/chats?instanceId=${instanceId}&excludeChatTypes=thread&limit=100`,
    );
    expect(noThreads.body.items.length).toBe(rows.length - threads.body.items.length);
    const byName = await w.call('GET', `/chats?instanceId=${instanceId}&sort=name&search=general`);
    expect(byName.body.items[0].name).toBe('general');
    expect((await w.call('GET', '/chats?sort=newest')).status).toBe(400);
  });

  test('chats.get and getMessages: newest first, cursor back, before/after, mediaOnly; counts match', async () => {
    const general = (await w.call('GET', `/chats?instanceId=${instanceId}&search=general&sort=name`)).body
      .items[0];
    const chat = await w.call('GET', `/chats/${general.id}`);
    expectShape(chat.body.data, SDK.Chat, 'chat');
    expect((await w.call('GET', `/chats/${general.externalId}`)).body.data.id).toBe(general.id);
    const stored = await w.t.db.db
      .selectFrom('messages')
      .select(['id', 'sent_at', 'has_media'])
      .where('instance_id', '=', instanceId)
      .where('chat_external_id', '=', general.externalId)
      .where('kind', 'not in', ['edit', 'revoke'])
      .orderBy('sent_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    expect(chat.body.data.messageCount).toBe(stored.length);

    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await w.call(
        'GET',
        `/chats/${general.id}/messages?limit=25${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      for (const m of page.body.items) expectShape(m, SDK.Message, 'message');
      walked.push(...page.body.items.map((m: { id: string }) => m.id));
      cursor = page.body.meta.cursor;
    } while (cursor);
    expect(walked).toEqual(stored.map((m) => m.id));

    const middle = stored[Math.floor(stored.length / 2)] as (typeof stored)[number];
    const before = await w.call(
      'GET',
      `/chats/${general.id}/messages?limit=500&before=${encodeURIComponent(middle.sent_at.toISOString())}`,
    );
    expect(
      before.body.items.every(
        (m: { platformTimestamp: string }) => Date.parse(m.platformTimestamp) < middle.sent_at.getTime(),
      ),
    ).toBe(true);
    const after = await w.call(
      'GET',
      `/chats/${general.id}/messages?limit=500&after=${encodeURIComponent(middle.sent_at.toISOString())}`,
    );
    expect(before.body.items.length + after.body.items.length).toBe(
      stored.filter((m) => m.sent_at.getTime() !== middle.sent_at.getTime()).length,
    );
    const media = await w.call('GET', `/chats/${general.id}/messages?limit=500&mediaOnly=true`);
    expect(media.body.items.length).toBe(stored.filter((m) => m.has_media).length);
    expect(media.body.items.every((m: { hasMedia: boolean }) => m.hasMedia)).toBe(true);
    expect((await w.call('GET', `/chats/${general.id}/messages?before=yesterday`)).status).toBe(400);
    expect((await w.call('GET', '/chats/00000000-0000-4000-8000-000000000000/messages')).status).toBe(404);

    const one = await w.call('GET', `/messages/${walked[0]}`);
    expectShape(one.body.data, SDK.Message, 'message');
    expect(one.body.data.chatId).toBe(general.id);
  });

  test("a stored file's mediaUrl is omni-sync's media route; ?api_key= works there and on SSE only", async () => {
    const stored = await w.t.db.db
      .selectFrom('messages')
      .select('id')
      .where('instance_id', '=', instanceId)
      .where('media_local_path', 'is', null)
      .where('has_media', '=', true)
      .execute();
    expect(stored.length).toBeGreaterThan(0);
    const first = stored[0]?.id as string;
    expect((await w.call('GET', `/messages/${first}`)).body.data.mediaUrl).toBeNull();
    const withMedia = await w.call('POST', `/instances/${instanceId}/sync`, {
      body: { type: 'messages', depth: 'all', downloadMedia: true },
    });
    await w.waitForJob(instanceId, withMedia.body.data.jobId);
    const message = (await w.call('GET', `/messages/${first}`)).body.data;
    expect(message.mediaUrl).toStartWith(`${w.baseUrl}/api/v2/media/${instanceId}/`);
    const row = await w.t.db.db
      .selectFrom('messages')
      .select('media_url')
      .where('id', '=', first)
      .executeTakeFirst();
    expect(message.metadata.platformMediaUrl).toBe(row?.media_url ?? null);
    expect((await fetch(message.mediaUrl)).status).toBe(401);
    const file = await fetch(`${message.mediaUrl}?api_key=${API_KEY}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')?.split(';')[0]).toBe(message.mediaMimeType.split(';')[0]);
    expect((await fetch(`${message.mediaUrl}?api_key=wrong`)).status).toBe(401);
    expect((await w.call('GET', `/instances?api_key=${API_KEY}`, { key: null })).status).toBe(401);
    const sse = await fetch(
      `${w.baseUrl}/api/v2/instances/${instanceId}/sync/${messagesJob}/events?api_key=${API_KEY}`,
    );
    expect(sse.status).toBe(200);
    expect(await sse.text()).toContain('event: sync.completed');

    // A client's Host header never writes the link: a hostile one is refused, and with PUBLIC_URL
    // the links use the deployment's origin whatever the Host says.
    const hostile = await w.t.app.inject({
      url: `/api/v2/messages/${first}`,
      headers: { host: 'evil.example"><script>', 'x-api-key': API_KEY },
    });
    expect(hostile.statusCode).toBe(400);
    expect(hostile.json().error.code).toBe('BAD_REQUEST');
    w.t.deps.publicUrl = 'https://sync.example.com';
    try {
      const behindProxy = await w.t.app.inject({
        url: `/api/v2/messages/${first}`,
        headers: { host: 'evil.example', 'x-api-key': API_KEY },
      });
      expect(behindProxy.json().data.mediaUrl).toStartWith(
        `https://sync.example.com/api/v2/media/${instanceId}/`,
      );
    } finally {
      delete w.t.deps.publicUrl;
    }
  });

  test('participants of a thread are its guild members', async () => {
    const thread = (await w.call('GET', `/chats?instanceId=${instanceId}&chatType=thread&limit=1`)).body
      .items[0];
    const res = await w.call('GET', `/chats/${thread.id}/participants`);
    expect(res.status).toBe(200);
    for (const p of res.body.items) expectShape(p, SDK.ChatParticipant, 'participant');
  });
});

describe('contacts, groups, settings', () => {
  test("listContacts and listGroups: Omni's names and meta; guildId and excludeGroups accepted", async () => {
    const groups = await w.call('GET', `/instances/${instanceId}/groups`);
    expect(groups.status).toBe(200);
    expectShape(groups.body.meta, SDK.DirectoryMeta, 'groups.meta');
    for (const g of groups.body.items) expectShape(g, SDK.Group, 'group');
    const guild = groups.body.items[0].externalId;
    const contacts = await w.call(
      'GET',
      `/instances/${instanceId}/contacts?guildId=${guild}&excludeGroups=true&limit=1000`,
    );
    expect(contacts.status).toBe(200);
    expectShape(contacts.body.meta, SDK.DirectoryMeta, 'contacts.meta');
    expect(contacts.body.items.length).toBeGreaterThan(0);
    for (const c of contacts.body.items) expectShape(c, SDK.Contact, 'contact');
    expect((await w.call('GET', `/instances/${instanceId}/contacts?excludeGroups=maybe`)).status).toBe(400);
  });

  test('settings: list items, get, set a form string, bulk PATCH {settings, reason}; bad values 400 with a code', async () => {
    const list = await w.call('GET', '/settings');
    expect(list.status).toBe(200);
    for (const s of list.body.items) expectShape(s, SDK.Setting, 'setting');
    expect(list.body.items.map((s: { key: string }) => s.key)).toContain('sync.defaultDepth');
    const media = await w.call('GET', '/settings?category=media');
    expect(media.body.items.every((s: { category: string }) => s.category === 'media')).toBe(true);
    const one = await w.call('GET', '/settings/sync.defaultDepth');
    expectShape(one.body.data, SDK.Setting, 'setting');
    const set = await w.call('PUT', '/settings/media.maxFileSizeMb', {
      body: { value: '25', reason: 'from the form' },
    });
    expect(set.status).toBe(200);
    expect(set.body.data.value).toBe(25);
    const bulk = await w.call('PATCH', '/settings', {
      body: {
        settings: { 'sync.defaultDepth': '30d', 'sync.profile.scheduleEnabled': 'true' },
        reason: 'bulk',
      },
    });
    expect(bulk.status).toBe(200);
    const values = Object.fromEntries(
      bulk.body.items.map((s: { key: string; value: unknown }) => [s.key, s.value]),
    );
    expect(values).toMatchObject({ 'sync.defaultDepth': '30d', 'sync.profile.scheduleEnabled': true });
    const bad = await w.call('PUT', '/settings/media.maxFileSizeMb', { body: { value: 'lots' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect((await w.call('GET', '/settings/no.such')).status).toBe(404);
  });
});

describe("Omni's later sync routes", () => {
  test('resync {since: "2h"} is a messages job over exactly that window; chatJids narrow it; bad since is 400', async () => {
    const before = Date.now();
    const res = await w.call('POST', `/instances/${instanceId}/resync`, { body: { since: '2h' } });
    expect(res.status).toBe(202);
    expectShape(res.body.data, SDK.Resync, 'resync');
    const since = Date.parse(res.body.data.since);
    expect(since).toBeGreaterThanOrEqual(before - 2 * 3_600_000);
    expect(since).toBeLessThanOrEqual(Date.now() - 2 * 3_600_000);
    const job = await w.waitForJob(instanceId, res.body.data.jobId);
    expect(job.status).toBe('completed');
    expect(job.progress.window).toMatchObject({ since: res.body.data.since, until: res.body.data.until });

    const general = (await w.call('GET', `/chats?instanceId=${instanceId}&search=general&sort=name`)).body
      .items[0];
    const iso = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const narrow = await w.call('POST', `/instances/${instanceId}/resync`, {
      body: { since: iso, chatJids: [general.externalId] },
    });
    expect(narrow.status).toBe(202);
    expect(narrow.body.data.since).toBe(iso);
    await w.waitForJob(instanceId, narrow.body.data.jobId);
    const chats = await w.t.db.db
      .selectFrom('sync_job_chats')
      .select('chat_id')
      .where('job_id', '=', narrow.body.data.jobId)
      .execute();
    expect(chats.map((c) => c.chat_id)).toEqual([general.externalId]);
    const started = await w.call('POST', `/instances/${instanceId}/sync`, {
      body: { type: 'messages', depth: '7d', chatJids: [general.externalId] },
    });
    expect(started.body.data.config.chatIds).toEqual([general.externalId]);
    await w.waitForJob(instanceId, started.body.data.jobId);
    const startedChats = await w.t.db.db
      .selectFrom('sync_job_chats')
      .select('chat_id')
      .where('job_id', '=', started.body.data.jobId)
      .execute();
    expect(startedChats.map((c) => c.chat_id)).toEqual([general.externalId]);

    const bad = await w.call('POST', `/instances/${instanceId}/resync`, { body: { since: 'last tuesday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(
      (
        await w.call('POST', `/instances/${instanceId}/resync`, {
          body: { since: '1h', until: new Date(Date.now() - 86_400_000).toISOString() },
        })
      ).status,
    ).toBe(400);
  });

  test('cancel at POST /instances/:id/sync/:jobId/cancel', async () => {
    await w.runtime.stop();
    const pending = await w.call('POST', `/instances/${instanceId}/resync`, { body: { since: '30m' } });
    const cancelled = await w.call('POST', `/instances/${instanceId}/sync/${pending.body.data.jobId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data).toMatchObject({ jobId: pending.body.data.jobId, status: 'cancelled' });
    await w.runtime.start();
  });
});
