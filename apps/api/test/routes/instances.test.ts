import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { auth, createTestApp, GOOD_TOKEN, type TestApp } from '../helpers.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const create = (name: string, channel = 'discord') =>
  t.app.inject({ method: 'POST', url: '/api/v2/instances', headers: auth, payload: { name, channel } });

describe('instances', () => {
  test('create, read, list with cursor paging', async () => {
    const res = await create('alpha');
    expect(res.statusCode).toBe(201);
    const alpha = res.json().data;
    expect(alpha).toMatchObject({
      name: 'alpha',
      channel: 'discord',
      isActive: true,
      downloadMediaOnSync: false,
    });
    expect(alpha.profileName).toBeNull();
    await create('beta');
    await create('gamma', 'whatsapp-baileys');

    const one = await t.app.inject({ url: `/api/v2/instances/${alpha.id}`, headers: auth });
    expect(one.json().data.id).toBe(alpha.id);

    const page1 = await t.app.inject({ url: '/api/v2/instances?limit=2', headers: auth });
    expect(page1.json().items.map((i: { name: string }) => i.name)).toEqual(['alpha', 'beta']);
    expect(page1.json().meta.hasMore).toBe(true);
    const page2 = await t.app.inject({
      url: `/api/v2/instances?limit=2&cursor=${page1.json().meta.cursor}`,
      headers: auth,
    });
    expect(page2.json().items.map((i: { name: string }) => i.name)).toEqual(['gamma']);
    expect(page2.json().meta).toEqual({ hasMore: false, cursor: null });
  });

  test('a taken name is 409, an unknown channel 400 with details', async () => {
    await create('dup');
    const again = await create('dup');
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONFLICT');
    const bad = await create('x', 'telegram');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_ERROR');
    expect(bad.json().error.details[0].path).toBe('/channel');
  });

  test('PATCH with a JSON body sent as form-urlencoded (curl -d) works', async () => {
    const { id } = (await create('patchme')).json().data;
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${id}`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '{"downloadMediaOnSync": true}',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.downloadMediaOnSync).toBe(true);
    const empty = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${id}`,
      headers: auth,
      payload: {},
    });
    expect(empty.statusCode).toBe(400);
    const unknown = await t.app.inject({
      method: 'PATCH',
      url: `/api/v2/instances/${id}`,
      headers: auth,
      payload: { color: 'red' },
    });
    expect(unknown.statusCode).toBe(400);
  });

  test('connect validates the token, stores it encrypted and syncs the profile', async () => {
    const { id } = (await create('bot')).json().data;
    const refused = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/connect`,
      headers: auth,
      payload: { token: 'wrong' },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('INVALID_CREDENTIALS');

    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/connect`,
      headers: auth,
      payload: { token: GOOD_TOKEN },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      profileName: 'omni-bot',
      profileBio: 'a bot',
      isConnected: true,
    });
    expect(res.json().data.profileSyncedAt).not.toBeNull();
    const row = await t.db.db
      .selectFrom('instances')
      .select('credentials')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.credentials).not.toContain(GOOD_TOKEN);
    expect(t.deps.cipher.decryptJson(row.credentials as string, id)).toEqual({ token: GOOD_TOKEN });

    const status = await t.app.inject({ url: `/api/v2/instances/${id}/status`, headers: auth });
    expect(status.json().data).toEqual({ state: 'open', isConnected: true, profileName: 'omni-bot' });

    const off = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/disconnect`,
      headers: auth,
    });
    expect(off.json().data.isConnected).toBe(false);
    const row2 = await t.db.db
      .selectFrom('instances')
      .select('credentials')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row2.credentials).toBeNull();
  });

  test('connect on a WhatsApp instance is 503 when this process does not run WhatsApp', async () => {
    const { id } = (await create('wa', 'whatsapp-baileys')).json().data;
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v2/instances/${id}/connect`,
      headers: auth,
      payload: { token: GOOD_TOKEN },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('WHATSAPP_UNAVAILABLE');
  });

  test('delete removes it; unknown ids are 404, malformed ids 400', async () => {
    const { id } = (await create('gone')).json().data;
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v2/instances/${id}`, headers: auth });
    expect(del.json().data).toEqual({ id, deleted: true });
    const after = await t.app.inject({ url: `/api/v2/instances/${id}`, headers: auth });
    expect(after.statusCode).toBe(404);
    expect(after.json().error.code).toBe('NOT_FOUND');
    const bad = await t.app.inject({ url: '/api/v2/instances/not-a-uuid', headers: auth });
    expect(bad.statusCode).toBe(400);
  });
});
