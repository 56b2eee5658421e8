import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WhatsAppPlugin } from '@omni/channel-whatsapp';
import { startWhatsApp, type WhatsAppWiring } from '@omni/runtime/whatsapp';
import { instanceId } from '@omni/sync-core';
import { createFakeSocketFactory, type FakeSocketFactory } from '@omni/testkit/whatsapp';
import { auth, createInstance, createTestApp, GOOD_TOKEN, silentLog, type TestApp } from '../helpers.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let t: TestApp;
let base: string;
let fake: FakeSocketFactory;
let whatsapp: WhatsAppPlugin;
let wiring: WhatsAppWiring;

beforeAll(async () => {
  t = await createTestApp(undefined, { eventStreams: { pollMs: 50 } });
  fake = createFakeSocketFactory({
    me: { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' },
    linked: false,
    chats: [],
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
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(async () => {
  await wiring.close();
  await t.close();
}, 60_000);

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  t.app.inject({ method, url: `/api/v2${url}`, headers: auth, ...(payload ? { payload } : {}) });

const until = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
};

describe('DELETE /instances/:id', () => {
  test('removes its media (never served again), credentials and rows, and ends its event streams', async () => {
    const id = await createInstance(t, 'doomed');
    expect((await call('POST', `/instances/${id}/connect`, { token: GOOD_TOKEN })).statusCode).toBe(200);
    const folder = join(t.mediaDir, id, '2026-01');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.png'), PNG);
    const other = await createInstance(t, 'survivor');
    mkdirSync(join(t.mediaDir, other, '2026-01'), { recursive: true });
    writeFileSync(join(t.mediaDir, other, '2026-01', 'b.png'), PNG);
    expect((await call('GET', `/media/${id}/2026-01/a.png`)).statusCode).toBe(200);

    const { jobId } = (await call('POST', `/instances/${id}/sync`, { type: 'contacts' })).json().data;
    const stream = await fetch(`${base}/api/v2/instances/${id}/sync/${jobId}/events`, { headers: auth });
    expect(stream.status).toBe(200);
    const streamText = stream.text();

    const deleted = await call('DELETE', `/instances/${id}`);
    expect(deleted.statusCode).toBe(200);
    // At once: not served, not listed, no credentials or jobs left.
    expect((await call('GET', `/media/${id}/2026-01/a.png`)).statusCode).toBe(404);
    expect(existsSync(join(t.mediaDir, id))).toBe(false);
    expect((await call('GET', `/instances/${id}`)).statusCode).toBe(404);
    const rows = await t.db.db.selectFrom('instances').select('credentials').where('id', '=', id).execute();
    expect(rows).toHaveLength(0);
    expect(
      await t.db.db.selectFrom('sync_jobs').select('id').where('instance_id', '=', id).execute(),
    ).toHaveLength(0);
    // The stream of its job ends (the job is gone); the moved folder is removed in the background.
    await streamText;
    await until(() => readdirSync(t.mediaDir).every((name) => !name.includes(id)));
    expect(t.app.jobEvents.openStreamsOf(id)).toBe(0);
    // Another instance's media is untouched.
    expect((await call('GET', `/media/${other}/2026-01/b.png`)).statusCode).toBe(200);
  });

  test('a WhatsApp instance: the device is logged out, its socket closed and its auth state deleted', async () => {
    const { id } = (
      await call('POST', '/instances', { name: 'wa-doomed', channel: 'whatsapp-baileys' })
    ).json().data;
    expect((await call('POST', `/instances/${id}/connect`)).statusCode).toBe(200);
    const socket = fake.last;
    await socket?.open();
    await whatsapp.flush(instanceId(id));
    await until(async () => (await call('GET', `/instances/${id}/status`)).json().data.state === 'open');
    const auth = await t.db.db
      .selectFrom('whatsapp_auth')
      .select('key')
      .where('instance_id', '=', id)
      .execute();
    expect(auth.length).toBeGreaterThan(0);

    expect((await call('DELETE', `/instances/${id}`)).statusCode).toBe(200);
    expect(socket?.loggedOut).toBe(true);
    expect(socket?.ended).toBe(true);
    const left = await t.db.db
      .selectFrom('whatsapp_auth')
      .select('key')
      .where('instance_id', '=', id)
      .execute();
    expect(left).toHaveLength(0);
  });
});
