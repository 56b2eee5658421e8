import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createDiscordPlugin } from '@omni/channel-discord';
import type { WhatsAppPlugin } from '@omni/channel-whatsapp';
import { startWhatsApp, type WhatsAppWiring } from '@omni/runtime/whatsapp';
import { createFakeSocketFactory } from '@omni/testkit/whatsapp';
import { auth, createInstance, createTestApp, silentLog, type TestApp } from '../helpers.ts';

let t: TestApp;
let whatsapp: WhatsAppPlugin;
let wiring: WhatsAppWiring;
let discord: string;
let wa: string;

beforeAll(async () => {
  // The real channel plugins: the API asks them what their chat ids look like.
  t = await createTestApp([createDiscordPlugin({ api: 'http://127.0.0.1:9' })]);
  wiring = startWhatsApp({
    db: t.db.db,
    cipher: t.deps.cipher,
    profiles: t.deps.profiles,
    log: silentLog,
    socketFactory: createFakeSocketFactory({
      me: { id: '15559990000:7@s.whatsapp.net', name: 'Me' },
      chats: [],
    }).factory,
  });
  whatsapp = wiring.plugin;
  t.deps.plugins.register(whatsapp);
  discord = await createInstance(t, 'ids-discord');
  wa = await createInstance(t, 'ids-wa', 'whatsapp-baileys');
  for (const id of [discord, wa]) {
    await t.db.db
      .updateTable('instances')
      .set({ connection_state: 'open', credentials: t.deps.cipher.encryptJson({ token: 'x' }, id) })
      .where('id', '=', id)
      .execute();
  }
}, 60_000);
afterAll(async () => {
  await wiring.close();
  await t.close();
}, 60_000);

const sync = (id: string, channelId: string) =>
  t.app.inject({
    method: 'POST',
    url: `/api/v2/instances/${id}/sync`,
    headers: auth,
    payload: { type: 'messages', channelId },
  });

describe('chat ids are checked per channel before they reach a platform route', () => {
  test('Discord: only snowflakes; paths, fragments and JIDs are a 400 and queue nothing', async () => {
    for (const bad of [
      '../../users/@me#',
      '../../users/@me',
      '123/../../guilds',
      '123?x=1',
      '123#',
      '%2e%2e',
      '0123',
      '-1',
      '99999999999999999999999',
      '18446744073709551616',
      '15551230000@s.whatsapp.net',
    ]) {
      const res = await sync(discord, bad);
      expect({ bad, status: res.statusCode }).toEqual({ bad, status: 400 });
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      expect(res.json().error.details[0]).toMatchObject({ in: 'body', path: '/channelId' });
    }
    const jobs = await t.db.db
      .selectFrom('sync_jobs')
      .select('id')
      .where('instance_id', '=', discord)
      .execute();
    expect(jobs).toHaveLength(0);
    expect((await sync(discord, '1098765432109876543')).statusCode).toBe(202);
    const messages = await t.app.inject({
      url: `/api/v2/instances/${discord}/messages?chatId=${encodeURIComponent('../../users/@me#')}`,
      headers: auth,
    });
    expect(messages.statusCode).toBe(400);
  });

  test('WhatsApp: only chat JIDs; a snowflake or a path is a 400', async () => {
    for (const bad of ['1098765432109876543', '../x@s.whatsapp.net', 'a@evil.example', '@g.us', 'x y@g.us']) {
      const res = await sync(wa, bad);
      expect({ bad, status: res.statusCode }).toEqual({ bad, status: 400 });
    }
    for (const good of ['15551230000@s.whatsapp.net', '120363021234567890@g.us', '90000@lid']) {
      expect((await sync(wa, good)).statusCode).toBe(202);
    }
  });
});
