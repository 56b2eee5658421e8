import { chatId } from '@omni/sync-core';
import { runChannelConformance } from '@omni/testkit/conformance';
import { DAY, NOW, slackWorld } from './fixture.ts';

runChannelConformance('slack', async () => {
  const { fake, plugin, instance } = await slackWorld();
  const chat = fake.data.channels.find((c) => c.name === 'general')!;
  return {
    plugin,
    instance,
    chatId: chatId(chat.id),
    until: NOW,
    depths: [NOW - 7 * DAY, NOW - 30 * DAY, null],
    expectedIds: (since) => fake.expectedIds(chat, since, NOW),
    expectedIdsBetween: (since, before) => fake.expectedIds(chat, since, before),
    injectRateLimits: (count) =>
      fake.inject({ kind: '429', count, route: /^conversations\.(history|replies)$/, retryAfterSeconds: 1 }),
    rateLimitsSent: () => fake.stats.status429,
    close: () => fake.stop(),
  };
});
