import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { WhatsAppPlugin } from '@omni/channel-whatsapp';
import { startWhatsApp, type WhatsAppWiring } from '@omni/runtime/whatsapp';
import { instanceId } from '@omni/sync-core';
import { createFakeSocketFactory, type FakeSocketFactory, generateTextHistory } from '@omni/testkit/whatsapp';
import { auth, createTestApp, silentLog, type TestApp } from '../helpers.ts';

const ME = { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' };
const ALICE = '15551230000@s.whatsapp.net';
let t: TestApp;
let fake: FakeSocketFactory;
let whatsapp: WhatsAppPlugin;
let wiring: WhatsAppWiring;

beforeAll(async () => {
  t = await createTestApp();
  fake = createFakeSocketFactory({
    me: ME,
    linked: false,
    pairingCode: 'ABCD-1234',
    chats: [
      {
        jid: ALICE,
        name: 'Alice',
        messages: generateTextHistory({
          chat: ALICE,
          count: 40,
          newest: Math.floor(Date.now() / 1000),
          spacing: 60,
        }),
      },
    ],
  });
  wiring = startWhatsApp({
    db: t.db.db,
    cipher: t.deps.cipher,
    profiles: t.deps.profiles,
    log: silentLog,
    socketFactory: fake.factory,
  });
  whatsapp = wiring.plugin;
  t.deps.plugins.register(whatsapp);
}, 60_000);
afterAll(async () => {
  await wiring.close();
  await t.close();
}, 60_000);

const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url: `/api/v2${url}`, headers: auth, ...(payload ? { payload } : {}) });

test('WhatsApp: connect → QR and pairing code → phone links → open, profile and pushed history stored → logout', async () => {
  const { id } = (await call('POST', '/instances', { name: 'wa', channel: 'whatsapp-baileys' })).json().data;
  const connected = await call('POST', `/instances/${id}/connect`);
  expect(connected.statusCode).toBe(200);
  expect(connected.json().data.connectionState).toBe('qr');

  const qr = await call('GET', `/instances/${id}/qr`);
  expect(qr.statusCode).toBe(200);
  expect(qr.json().data.qr).toStartWith('2@fake-qr-');
  expect(qr.json().data.dataUrl).toStartWith('data:image/png;base64,');
  expect(Date.parse(qr.json().data.expiresAt)).toBeGreaterThan(Date.now());

  const pair = await call('POST', `/instances/${id}/pair`, { phoneNumber: '+1 (555) 999-0000' });
  expect(pair.statusCode).toBe(200);
  expect(pair.json().data).toMatchObject({ code: 'ABCD-1234', phoneNumber: '+15559990000' });
  expect((await call('POST', `/instances/${id}/pair`, { phoneNumber: 'call me' })).statusCode).toBe(400);

  await fake.last?.open();
  await whatsapp.flush(instanceId(id));
  const status = await call('GET', `/instances/${id}/status`);
  expect(status.json().data).toMatchObject({ state: 'open', isConnected: true });
  const instance = await (async () => {
    for (;;) {
      const data = (await call('GET', `/instances/${id}`)).json().data;
      if (data.connectionState === 'open' && data.profileSyncedAt) return data;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  expect(instance.ownerIdentifier).toContain('15559990000');
  const messages = await call('GET', `/instances/${id}/messages?limit=100`);
  expect(messages.json().items).toHaveLength(40);
  const creds = await t.db.db
    .selectFrom('whatsapp_auth')
    .select('value')
    .where('instance_id', '=', id)
    .where('key', '=', 'creds')
    .executeTakeFirst();
  expect(creds?.value).toStartWith('v2:');

  const already = await call('GET', `/instances/${id}/qr`);
  expect(already.statusCode).toBe(200);
  expect(already.json().data).toMatchObject({ qr: null, status: 'open' });
  const loggedOut = await call('POST', `/instances/${id}/logout`);
  expect(loggedOut.statusCode).toBe(200);
  expect(loggedOut.json().data.connectionState).toBe('logged_out');
});

test('QR, pair and logout are WhatsApp-only (422); Discord still needs a token (400)', async () => {
  const { id } = (await call('POST', '/instances', { name: 'dc', channel: 'discord' })).json().data;
  expect((await call('GET', `/instances/${id}/qr`)).statusCode).toBe(422);
  expect((await call('POST', `/instances/${id}/pair`, { phoneNumber: '+15551234567' })).statusCode).toBe(422);
  expect((await call('POST', `/instances/${id}/logout`)).statusCode).toBe(422);
  const noToken = await call('POST', `/instances/${id}/connect`, {});
  expect(noToken.statusCode).toBe(400);
  expect(noToken.json().error.details[0].path).toBe('/token');
});

test("Omni's connect {forceNewQr} and restart (plain and forceNewQr): {status, message}, a QR again", async () => {
  const { id } = (
    await call('POST', '/instances', { name: 'wa-restart', channel: 'whatsapp-baileys' })
  ).json().data;
  const first = await call('POST', `/instances/${id}/connect`, { forceNewQr: false });
  expect(first.statusCode).toBe(200);
  expect(first.json().data).toMatchObject({ instanceId: id, status: 'qr' });
  expect(typeof first.json().data.message).toBe('string');
  const restarted = await call('POST', `/instances/${id}/restart`);
  expect(restarted.statusCode).toBe(200);
  expect(restarted.json().data).toMatchObject({ instanceId: id, status: 'qr' });
  const renewed = await call('POST', `/instances/${id}/restart?forceNewQr=true`);
  expect(renewed.statusCode).toBe(200);
  expect(renewed.json().data.status).toBe('qr');
  const forced = await call('POST', `/instances/${id}/connect`, { forceNewQr: true });
  expect(forced.statusCode).toBe(200);
  expect(forced.json().data.status).toBe('qr');
  const qr = await call('GET', `/instances/${id}/qr`);
  expect(qr.json().data.qr).toStartWith('2@fake-qr-');
  expect((await call('POST', `/instances/${id}/restart?forceNewQr=maybe`)).statusCode).toBe(400);
});
