import { describe, expect, test } from 'bun:test';
import { AuthError, isSyncError } from '@omni/sync-core';
import type { FakeWhatsAppScenario } from '@omni/testkit/whatsapp';
import { loadStoredAuthState } from '../src/auth/stored-auth-state.ts';
import { decideOnClose } from '../src/connection/close-policy.ts';
import { hasWhatsAppConnection, type WhatsAppConnectionState } from '../src/connection/connection-state.ts';
import { reconnectDelayMs } from '../src/connection/reconnect-backoff.ts';
import { harness } from './helpers.ts';

const ME = { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' };

describe('connection lifecycle', () => {
  test('unlinked: QR string + PNG data URL + expiry; pairing code; scan → open and creds written', async () => {
    const scenario: FakeWhatsAppScenario = { me: ME, chats: [], linked: false, pairingCode: 'ABCD-1234' };
    const h = harness(scenario, { firstQrTtlMs: 60_000 });
    const seen: WhatsAppConnectionState['status'][] = [];
    h.plugin.onConnectionChange((s) => seen.push(s.status));
    const before = Date.now();
    expect(hasWhatsAppConnection(h.plugin)).toBe(true);
    expect(hasWhatsAppConnection({ connect() {} })).toBe(false);
    const state = await h.plugin.connect(h.id);
    expect(state.status).toBe('qr');
    const qr = h.plugin.currentQr(h.id);
    expect(qr?.code).toStartWith('2@fake-qr-');
    expect(qr?.dataUrl).toStartWith('data:image/png;base64,');
    expect(
      Buffer.from(qr?.dataUrl.split(',')[1] ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(qr?.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    const failure = await h.plugin.getProfile(h.ctx).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthError);
    const pairing = await h.plugin.requestPairingCode(h.id, '+1 (555) 999-0000');
    expect(pairing).toMatchObject({ code: 'ABCD-1234', phoneNumber: '+15559990000', expiresIn: 180 });
    expect(h.fake.last?.pairingRequests).toEqual(['15559990000']);
    await h.fake.last?.open();
    expect(h.plugin.connectionState(h.id)).toMatchObject({
      status: 'open',
      qr: null,
      user: { id: '15559990000@s.whatsapp.net', lid: '90000@lid' },
    });
    expect(h.plugin.currentQr(h.id)).toBeNull();
    await h.plugin.flush(h.id);
    const stored = await loadStoredAuthState(h.store, h.id);
    expect(stored.existed).toBe(true);
    expect(stored.state.creds.me?.id).toBe(ME.id);
    expect(seen).toEqual(expect.arrayContaining(['connecting', 'qr', 'open']));
    await h.plugin.close();
  });

  test('a dropped connection reconnects with a new socket; pairing an open session is refused', async () => {
    const h = harness({ me: ME, chats: [], pushOnOpen: false });
    await h.plugin.connect(h.id);
    const refused = await h.plugin.requestPairingCode(h.id, '15559990000').catch((e: unknown) => e);
    expect(isSyncError(refused) && refused.details?.reason).toBe('already_linked');
    h.fake.last?.drop(428);
    expect(h.plugin.connectionState(h.id)).toMatchObject({
      status: 'connecting',
      reconnectAttempts: 1,
      lastError: { statusCode: 428 },
    });
    const reopened = await h.plugin.connect(h.id);
    expect(reopened.status).toBe('open');
    expect(h.fake.sockets).toHaveLength(2);
    expect(h.plugin.connectionState(h.id).reconnectAttempts).toBe(0);
    await h.plugin.close();
  });

  test('logged out from the phone: reported, auth state deleted, never retried', async () => {
    const h = harness({ me: ME, chats: [], pushOnOpen: false });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    expect(h.store.keys(h.id)).toContain('creds');
    h.fake.last?.drop(401);
    await h.plugin.flush(h.id);
    expect(h.plugin.connectionState(h.id)).toMatchObject({
      status: 'logged_out',
      lastError: { statusCode: 401 },
    });
    expect(h.store.keys(h.id)).toEqual([]);
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
    expect(h.fake.sockets).toHaveLength(1);
    const failure = await h.plugin.getProfile(h.ctx).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthError);
    expect(String((failure as Error).message)).toContain('logged out');
    expect(h.fake.sockets).toHaveLength(1);
    const relink = await h.plugin.connect(h.id);
    expect(relink.status).toBe('open');
    expect(h.fake.sockets).toHaveLength(2);
  });

  test('reconnects give up after maxReconnectAttempts and say so', async () => {
    const scenario: FakeWhatsAppScenario = { me: ME, chats: [], pushOnOpen: false };
    const h = harness(scenario, { maxReconnectAttempts: 2 });
    await h.plugin.connect(h.id);
    scenario.connectFailure = 503;
    h.fake.last?.drop(503);
    const state = await h.plugin.connect(h.id);
    expect(state).toMatchObject({ status: 'closed', reconnectAttempts: 2, lastError: { statusCode: 503 } });
    expect(h.fake.sockets).toHaveLength(3);
    const failure = await h.plugin.getProfile(h.ctx).catch((e: unknown) => e);
    expect(isSyncError(failure) && failure.code).toBe('TRANSIENT');
  });

  test('the session opened elsewhere (440): closed, not fought over, auth state kept', async () => {
    const h = harness({ me: ME, chats: [], pushOnOpen: false });
    await h.plugin.connect(h.id);
    await h.plugin.flush(h.id);
    h.fake.last?.drop(440);
    expect(h.plugin.connectionState(h.id)).toMatchObject({
      status: 'closed',
      lastError: { statusCode: 440 },
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
    expect(h.fake.sockets).toHaveLength(1);
    expect(h.store.keys(h.id)).toContain('creds');
  });

  test('logout unlinks and clears the auth state', async () => {
    const h = harness({ me: ME, chats: [], pushOnOpen: false });
    await h.plugin.connect(h.id);
    await h.plugin.logout(h.id);
    expect(h.fake.last?.loggedOut).toBe(true);
    expect(h.plugin.connectionState(h.id).status).toBe('logged_out');
    expect(h.store.keys(h.id)).toEqual([]);
  });

  test('close policy: stopped, logged out, replaced, restart at once, backoff, give up', () => {
    const base = {
      stopping: false,
      attempts: 0,
      maxAttempts: 3,
      baseMs: 1000,
      maxMs: 8000,
      random: () => 0.5,
    };
    expect(decideOnClose({ ...base, statusCode: 428, stopping: true })).toEqual({ action: 'stopped' });
    expect(decideOnClose({ ...base, statusCode: 401 })).toEqual({ action: 'logged_out' });
    expect(decideOnClose({ ...base, statusCode: 403 })).toEqual({ action: 'logged_out' });
    expect(decideOnClose({ ...base, statusCode: 440 })).toEqual({ action: 'replaced' });
    expect(decideOnClose({ ...base, statusCode: 515 })).toEqual({
      action: 'reconnect',
      attempts: 1,
      delayMs: 0,
    });
    expect(decideOnClose({ ...base, statusCode: 408, attempts: 2 })).toEqual({
      action: 'reconnect',
      attempts: 3,
      delayMs: 4000,
    });
    expect(decideOnClose({ ...base, statusCode: null, attempts: 3 })).toEqual({
      action: 'give_up',
      attempts: 3,
    });
  });

  test('backoff doubles, is capped, and jitters by ±20 %', () => {
    expect(reconnectDelayMs(1, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(reconnectDelayMs(3, 1000, 60_000, () => 0.5)).toBe(4000);
    expect(reconnectDelayMs(20, 1000, 60_000, () => 0.5)).toBe(60_000);
    expect(reconnectDelayMs(2, 1000, 60_000, () => 0)).toBe(1600);
    expect(reconnectDelayMs(2, 1000, 60_000, () => 1)).toBe(2400);
  });

  test('signal keys go through the store and come back (app-state keys revived as protos)', async () => {
    const h = harness({ me: ME, chats: [] });
    const auth = await loadStoredAuthState(h.store, h.id);
    await auth.state.keys.set({
      session: { 'a.0': new Uint8Array([1, 2, 3]) },
      'app-state-sync-key': { k1: { keyData: new Uint8Array([9]) } },
    });
    const again = await loadStoredAuthState(h.store, h.id);
    const sessions = await again.state.keys.get('session', ['a.0', 'missing']);
    expect(Buffer.from(sessions['a.0'] ?? []).toString('hex')).toBe('010203');
    expect(sessions.missing).toBeUndefined();
    const app = await again.state.keys.get('app-state-sync-key', ['k1']);
    expect(Buffer.from(app.k1?.keyData ?? []).toString('hex')).toBe('09');
    await again.state.keys.set({ session: { 'a.0': null } });
    expect(h.store.keys(h.id)).not.toContain('session:a.0');
  });
});
