import { chatId, instanceId } from '@omni/sync-core';
import { runChannelConformance } from '@omni/testkit/conformance';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { createDiscordPlugin } from '../src/index.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
/** Discord's 5-per-5 s history shape and 50/s global, scaled down 10× so the suite takes seconds. */
const WINDOW = { limit: 5, windowMs: 400 };
const GLOBAL = { limit: 50, windowMs: 100 };

runChannelConformance('discord', async () => {
  const fake = await FakeDiscord.start({
    data: mixedScenario({ nowMs: NOW }),
    messageRateLimit: WINDOW,
    globalRateLimit: GLOBAL,
  });
  const chat = fake.data.chats.find((c) => c.readable && c.name === 'general');
  if (!chat) throw new Error('the mixed scenario has no readable #general');
  const plugin = createDiscordPlugin({
    api: fake.apiUrl,
    historyRequestsPerWindow: WINDOW.limit,
    historyWindowMs: WINDOW.windowMs,
    globalRequestsPerWindow: GLOBAL.limit,
    globalWindowMs: GLOBAL.windowMs,
    cloudflareProbeMs: 50,
  });
  return {
    plugin,
    instance: {
      id: instanceId(crypto.randomUUID()),
      name: 'conformance',
      channel: 'discord',
      credentials: { token: fake.token },
      ownerIdentifier: null,
    },
    chatId: chatId(chat.id),
    until: NOW,
    depths: [NOW - 7 * DAY, NOW - 30 * DAY, null],
    expectedIds: (since) => fake.expectedIds(chat, since, NOW),
    expectedIdsBetween: (since, before) => fake.expectedIds(chat, since, before),
    injectRateLimits: (count) =>
      fake.inject({ kind: '429-json', count, route: /\/messages/, retryAfterSeconds: 0.01 }),
    rateLimitsSent: () => fake.stats.status429,
    close: () => fake.stop(),
  };
});
