import { chatId, instanceId, type NormalizedMessage } from '@omni/sync-core';
import { runChannelConformance } from '@omni/testkit/conformance';
import {
  createFakeSocketFactory,
  FakeMediaServer,
  generateTextHistory,
  waMessages,
} from '@omni/testkit/whatsapp';
import { MemoryAuthStateStore } from '../src/auth/auth-state-store.ts';
import { createWhatsAppPlugin } from '../src/whatsapp-plugin.ts';

const DAY = 86_400;
const NOW = 1_760_000_000;
const CHAT = '15550001111@s.whatsapp.net';

runChannelConformance('whatsapp-baileys', async () => {
  const media = new FakeMediaServer();
  const image = await media.publish(new Uint8Array(2_000).fill(7), 'image', 'image/jpeg');
  const voice = await media.publish(new Uint8Array(3_000).fill(9), 'audio', 'audio/ogg; codecs=opus');
  const phone = [
    ...generateTextHistory({ chat: CHAT, count: 400, newest: NOW, spacing: 3 * 3_600, idPrefix: 'K' }),
    waMessages.image({ id: 'MEDIA-IMG', chat: CHAT, timestamp: NOW - 3 * DAY - 17 }, image, 'photo'),
    waMessages.voice(
      { id: 'MEDIA-PTT', chat: CHAT, timestamp: NOW - 4 * DAY - 17 },
      voice,
      6,
      new Uint8Array(64).fill(3),
    ),
  ];
  const fake = createFakeSocketFactory({
    me: { id: '15559990000@s.whatsapp.net', name: 'Conformance' },
    chats: [{ jid: CHAT, name: 'Alice', messages: phone }],
    bootstrapSince: NOW - DAY,
    media,
  });
  const plugin = createWhatsAppPlugin({ socketFactory: fake.factory, authStore: new MemoryAuthStateStore() });
  const pushed: NormalizedMessage[] = [];
  plugin.setHistoryHandler(async (batch) => {
    pushed.push(...batch.messages);
  });
  const id = instanceId(crypto.randomUUID());
  await plugin.connect(id);
  await plugin.flush(id);
  const oldest = pushed.reduce((a, b) => (a.timestamp <= b.timestamp ? a : b));
  const ts = (m: (typeof phone)[number]) => Number(m.messageTimestamp) * 1000;
  return {
    plugin,
    instance: { id, name: 'wa', channel: 'whatsapp-baileys', credentials: null, ownerIdentifier: null },
    chatId: chatId(CHAT),
    until: NOW * 1000 + 1,
    depths: [(NOW - 7 * DAY) * 1000, (NOW - 30 * DAY) * 1000, null],
    anchor: {
      externalId: oldest.externalId,
      timestamp: oldest.timestamp,
      senderId: oldest.senderId,
      raw: oldest.raw,
    },
    expectedIds: (since) =>
      phone
        .filter((m) => ts(m) < oldest.timestamp && (since === null || ts(m) >= since))
        .map((m) => String(m.key?.id)),
    injectRateLimits: (n) => fake.faults.injectRateLimits(n),
    rateLimitsSent: () => fake.faults.rateLimitsSent,
    close: async () => {
      await plugin.close();
      await media.close();
    },
  };
});
