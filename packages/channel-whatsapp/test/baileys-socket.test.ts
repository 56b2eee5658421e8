import { expect, test } from 'bun:test';
import { instanceId } from '@omni/sync-core';
import { MemoryAuthStateStore } from '../src/auth/auth-state-store.ts';
import type { WhatsAppConnectionState } from '../src/connection/connection-state.ts';
import { createBaileysSocketFactory } from '../src/socket/baileys-socket-factory.ts';
import { createWhatsAppPlugin } from '../src/whatsapp-plugin.ts';

test('the real makeWASocket behind the plugin: an unreachable server closes, is retried, then reported closed', async () => {
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: () => new Response('no websocket here', { status: 503 }),
  });
  try {
    const plugin = createWhatsAppPlugin({
      socketFactory: createBaileysSocketFactory({
        extra: {
          waWebSocketUrl: `ws://127.0.0.1:${server.port}/ws/chat`,
          connectTimeoutMs: 500,
          fireInitQueries: false,
        },
      }),
      authStore: new MemoryAuthStateStore(),
      maxReconnectAttempts: 1,
      reconnectBaseMs: 1,
      openTimeoutMs: 20_000,
    });
    const id = instanceId(crypto.randomUUID());
    const seen: WhatsAppConnectionState['status'][] = [];
    plugin.onConnectionChange((s) => seen.push(s.status));
    const state = await plugin.connect(id);
    expect(state.status).toBe('closed');
    expect(state.reconnectAttempts).toBe(1);
    expect(state.lastError?.message).toBeTruthy();
    expect(seen.filter((s) => s === 'connecting').length).toBeGreaterThanOrEqual(2);
    await plugin.close();
  } finally {
    await server.stop(true);
  }
}, 30_000);
