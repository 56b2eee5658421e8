import { afterAll, beforeAll, expect, test } from 'bun:test';
import { auth, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

test('GET lists every setting with value and source', async () => {
  const res = await t.app.inject({ url: '/api/v2/settings', headers: auth });
  expect(res.statusCode).toBe(200);
  const { values, settings } = res.json().data;
  expect(values['sync.discord.messagesPerMinute']).toBe(50);
  expect(values['sync.defaultDepth']).toBe('7d');
  expect(settings.find((s: { key: string }) => s.key === 'sync.defaultDepth')).toMatchObject({
    source: 'default',
    defaultValue: '7d',
  });
});

test('PATCH validates: all or nothing, 400 with details', async () => {
  const bad = await t.app.inject({
    method: 'PATCH',
    url: '/api/v2/settings',
    headers: auth,
    payload: { 'sync.defaultDepth': '30d', 'sync.profile.scheduleCron': 'not a cron', 'no.such': 1 },
  });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().error.code).toBe('VALIDATION_ERROR');
  const keys = bad
    .json()
    .error.details.map((d: { key: string }) => d.key)
    .sort();
  expect(keys).toEqual(['no.such', 'sync.profile.scheduleCron']);
  const still = await t.app.inject({ url: '/api/v2/settings', headers: auth });
  expect(still.json().data.values['sync.defaultDepth']).toBe('7d');

  const ok = await t.app.inject({
    method: 'PATCH',
    url: '/api/v2/settings',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: '{"sync.defaultDepth": "30d", "sync.discord.messagesPerMinute": 20}',
  });
  expect(ok.statusCode).toBe(200);
  expect(ok.json().data.values['sync.defaultDepth']).toBe('30d');
  expect(ok.json().data.values['sync.discord.messagesPerMinute']).toBe(20);
  const negative = await t.app.inject({
    method: 'PATCH',
    url: '/api/v2/settings',
    headers: auth,
    payload: { 'sync.discord.messagesPerMinute': -1 },
  });
  expect(negative.statusCode).toBe(400);
});

test('media.storagePath is set at deploy time: a PATCH of it is a 400 and changes nothing', async () => {
  const before = await t.deps.settings.get('media.storagePath');
  const depth = await t.deps.settings.get('sync.defaultDepth');
  expect(before).toBe(t.mediaDir);
  for (const payload of [
    { 'media.storagePath': '/' },
    { 'media.storagePath': '/tmp/x', 'sync.defaultDepth': '30d' },
  ]) {
    const res = await t.app.inject({ method: 'PATCH', url: '/api/v2/settings', headers: auth, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(res.json().error.message).toContain('MEDIA_STORAGE_PATH');
  }
  // A value stored before this rule (or written behind the API's back) is ignored too.
  await t.db.db
    .insertInto('settings')
    .values({ key: 'media.storagePath', value: JSON.stringify('/'), updated_at: new Date() })
    .execute();
  t.deps.settings.invalidate();
  expect(await t.deps.settings.get('media.storagePath')).toBe(before);
  expect(await t.deps.settings.get('sync.defaultDepth')).toBe(depth);
});
