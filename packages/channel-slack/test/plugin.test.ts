import { afterEach, describe, expect, test } from 'bun:test';
import {
  AuthError,
  chatId,
  type HistoryBatch,
  MediaFetcher,
  PermanentError,
  type PluginContext,
} from '@omni/sync-core';
import { conformanceContext } from '@omni/testkit/conformance';
import { type FakeSlack, type FakeSlackFault, FULL_SLACK_SCOPES, fileBytes } from '@omni/testkit/slack';
import type { SlackPlugin } from '../src/index.ts';
import { NOW, slackWorld } from './fixture.ts';

let fake: FakeSlack | null = null;
afterEach(async () => {
  await fake?.stop();
  fake = null;
});

async function drain(plugin: SlackPlugin, ctx: PluginContext, channel: string): Promise<HistoryBatch[]> {
  const out: HistoryBatch[] = [];
  for await (const b of plugin.fetchHistory(ctx, {
    chatId: chatId(channel),
    since: null,
    until: NOW,
    cursor: null,
  })) {
    out.push(b);
  }
  return out;
}

const ids = (batches: HistoryBatch[]) =>
  batches.flatMap((b) => b.messages.map((m) => String(m.externalId))).sort();

describe('SlackPlugin on the fake Slack', () => {
  test('missing scopes are reported per chat and per type, and a history call names the scope it lacked', async () => {
    const scopes = FULL_SLACK_SCOPES.filter((s) => s !== 'im:read' && s !== 'groups:history');
    const world = await slackWorld({ scopes });
    fake = world.fake;
    const { ctx } = conformanceContext(world.instance);
    const listing = await world.plugin.listChats(ctx);
    expect(listing.warnings).toContain('Slack token lacks im:read: direct messages are not listed');
    expect(listing.chats.some((c) => c.kind === 'dm')).toBe(false);
    const secret = fake.data.channels.find((c) => c.name === 'secret')!;
    const listed = listing.chats.find((c) => c.id === secret.id);
    expect(listed?.readable).toBe(false);
    expect(listed?.reason).toContain('groups:history');
    const random = listing.chats.find((c) => c.name === 'random');
    expect(random?.readable).toBe(false);
    expect(random?.reason).toContain('not_in_channel');
    const archived = listing.chats.find((c) => c.name === 'old-project');
    expect(archived?.readable).toBe(true);
    expect(archived?.metadata?.isArchived).toBe(true);

    const error = await drain(world.plugin, ctx, secret.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).message).toContain('missing scope groups:history');
    expect(fake.stats.errors.get('missing_scope')).toBe(1);
  });

  test('a storm of 429s (with and without Retry-After), 5xx, ok:false internal_error and truncated JSON: every page arrives, every 429 reaches the engine', async () => {
    const world = await slackWorld({}, { unknownRetryAfterMs: 10 });
    fake = world.fake;
    const general = fake.data.channels.find((c) => c.name === 'general')!;
    const route = /^conversations\.(history|replies)$/;
    const faults: FakeSlackFault[] = [
      { kind: '429', afterRequest: 2, count: 6, retryAfterSeconds: 1, route },
      { kind: '429-no-retry-after', afterRequest: 9, count: 2, route },
      { kind: '500', afterRequest: 14, count: 1, route },
      { kind: '503', afterRequest: 20, count: 1, route },
      { kind: 'error', afterRequest: 25, count: 1, error: 'internal_error', route },
      { kind: 'truncated', afterRequest: 30, count: 2, route },
    ];
    for (const f of faults) fake.inject(f);
    const { ctx, refusals } = conformanceContext(world.instance);
    const got = ids(await drain(world.plugin, ctx, general.id));
    expect(got).toEqual([...fake.expectedIds(general, null, NOW)].sort());
    expect(fake.faults.hits).toEqual(faults.map((f) => f.count ?? 1));
    expect(fake.stats.status429).toBe(8);
    expect(refusals()).toBe(8);
    expect(world.plugin.stats(world.instance.id)?.status429).toBe(8);
  }, 30_000);

  test('unlisted apps ask for at most 15 messages a page and the tier windows are never overrun (0 × 429)', async () => {
    const world = await slackWorld(
      { appTier: 'unlisted', tierWindowMs: 60 },
      { appTier: 'unlisted', tierWindowMs: 60 },
    );
    fake = world.fake;
    const dm = fake.data.channels.find((c) => c.name === 'dm')!;
    const { ctx } = conformanceContext(world.instance);
    const batches = await drain(world.plugin, ctx, dm.id);
    expect(ids(batches)).toEqual([...fake.expectedIds(dm, null, NOW)].sort());
    expect(fake.stats.method('conversations.history')).toBe(Math.floor(dm.messageCount / 15) + 1);
    expect(fake.stats.status429).toBe(0);
  });

  test('a refused token is an AuthError; private files download with the bearer token through the media fetcher', async () => {
    const world = await slackWorld();
    fake = world.fake;
    const bad = conformanceContext({ ...world.instance, credentials: { token: 'xoxb-nope' } });
    expect(await world.plugin.getProfile(bad.ctx).catch((e: unknown) => e)).toBeInstanceOf(AuthError);

    const { ctx } = conformanceContext(world.instance, {
      mediaFetcher: new MediaFetcher({ allowOrigins: [fake.url] }),
    });
    const general = fake.data.channels.find((c) => c.name === 'general')!;
    const batches = await drain(world.plugin, ctx, general.id);
    const withFile = batches.flatMap((b) => b.messages).find((m) => m.media.length > 0)!;
    const stream = await world.plugin.downloadMedia(ctx, withFile.media[0]!);
    const bytes: Uint8Array = new Uint8Array(await new Response(stream).arrayBuffer());
    const fileId = (withFile.media[0]!.extra as { fileId: string }).fileId;
    expect(bytes).toEqual(fileBytes(fake.data, fake.data.fileById(fileId)!.file));
    expect(fake.stats.fileUnauthorized).toBe(0);
  });
});
