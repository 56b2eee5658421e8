import { type InstanceRef, instanceId } from '@omni/sync-core';
import { FakeSlack, type FakeSlackOptions, type SlackChannelSpec } from '@omni/testkit/slack';
import { createSlackPlugin, type SlackPlugin, type SlackPluginOptions } from '../src/index.ts';

export const DAY = 86_400_000;
export const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
/** Slack's per-minute windows scaled down so the suites take seconds (request counts stay Slack's). */
export const WINDOW_MS = 400;

/** A workspace with every shape a sync meets. */
export const MIXED_CHANNELS: SlackChannelSpec[] = [
  {
    name: 'general',
    messageCount: 300,
    historyDays: 60,
    threadEvery: 10,
    repliesPerThread: 3,
    fileEvery: 7,
    editEvery: 5,
    tombstoneEvery: 3,
    changeEvery: 13,
  },
  { name: 'random', messageCount: 40, member: false },
  { name: 'secret', type: 'private_channel', messageCount: 30 },
  { name: 'old-project', messageCount: 20, archived: true },
  { name: 'dm', type: 'im', messageCount: 25, threadEvery: 0 },
  { name: 'mpdm-a-b', type: 'mpim', messageCount: 15 },
];

/** A fake Slack and a plugin wired to it (small pages so paging and threads page too). */
export async function slackWorld(
  fakeOptions: Partial<FakeSlackOptions> = {},
  pluginOptions: Partial<SlackPluginOptions> = {},
): Promise<{ fake: FakeSlack; plugin: SlackPlugin; instance: InstanceRef }> {
  const fake = await FakeSlack.start({
    data: { seed: 7, nowMs: NOW, channels: MIXED_CHANNELS },
    tierWindowMs: WINDOW_MS,
    ...fakeOptions,
  });
  const plugin = createSlackPlugin({
    apiUrl: fake.apiUrl,
    tierWindowMs: WINDOW_MS,
    pacingMarginMs: 5,
    historyPageSize: 40,
    repliesPageSize: 2,
    unknownRetryAfterMs: 20,
    ...pluginOptions,
  });
  const instance: InstanceRef = {
    id: instanceId(crypto.randomUUID()),
    name: 'slack-test',
    channel: 'slack',
    credentials: { token: fake.token },
    ownerIdentifier: null,
  };
  return { fake, plugin, instance };
}
