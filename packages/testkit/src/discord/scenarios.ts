import type { FakeDiscordDataOptions } from './dataset-spec.ts';

/**
 * A small world with every shape a sync meets: text, announcement and forum channels, active,
 * archived and private threads, an empty channel, an unreadable one, and one whose history
 * starts 3 days ago (a 7d sync finds it exhausted). `scale` multiplies the message counts.
 */
export function mixedScenario(
  options: { seed?: number; nowMs?: number; scale?: number } = {},
): FakeDiscordDataOptions {
  const s = options.scale ?? 1;
  return {
    seed: options.seed ?? 7,
    nowMs: options.nowMs ?? Date.now(),
    guilds: [
      {
        name: 'Omni HQ',
        description: 'Where the sync is tested',
        memberCount: 1500,
        channels: [
          {
            name: 'general',
            messageCount: 450 * s,
            historyDays: 45,
            threads: [
              { name: 'release-thread', messageCount: 40 * s, historyDays: 5 },
              { name: 'old-thread', archived: true, messageCount: 30 * s, historyDays: 20 },
              { name: 'secret-thread', archived: true, private: true, messageCount: 12 * s, historyDays: 15 },
            ],
          },
          { name: 'news', kind: 'announcement', messageCount: 120 * s, historyDays: 40 },
          {
            name: 'help-forum',
            kind: 'forum',
            threads: [
              { name: 'how do I sync?', messageCount: 25 * s, historyDays: 8 },
              { name: 'solved: media', archived: true, messageCount: 18 * s, historyDays: 25 },
            ],
          },
          { name: 'empty', messageCount: 0 },
          { name: 'staff-only', messageCount: 60 * s, readable: false },
          { name: 'fresh', messageCount: 35 * s, historyDays: 3 },
        ],
      },
      {
        name: 'Second Guild',
        description: null,
        memberCount: 12,
        channels: [{ name: 'lobby', messageCount: 210 * s, historyDays: 100 }],
      },
    ],
  };
}
