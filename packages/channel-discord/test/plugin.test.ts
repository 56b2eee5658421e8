import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import {
  chatId,
  hasContacts,
  hasGroups,
  hasMedia,
  MediaRefusedError,
  type NormalizedMessage,
} from '@omni/sync-core';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { createDiscordPlugin, type DiscordPlugin, snowflakeFromMs, snowflakeToMs } from '../src/index.ts';
import { collect, testContext } from './plugin-context.ts';

/** Paced against the fake (and Postgres): give slow CI machines room; nothing here asserts time. */
setDefaultTimeout(60_000);

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const FAST = { limit: 1000, windowMs: 100 };

async function start(extra: Partial<Parameters<typeof FakeDiscord.start>[0]> = {}) {
  const fake = await FakeDiscord.start({
    data: mixedScenario({ nowMs: NOW }),
    messageRateLimit: { limit: 5, windowMs: 300 },
    globalRateLimit: FAST,
    routeRateLimit: FAST,
    ...extra,
  });
  const plugin = createDiscordPlugin({ api: fake.apiUrl, historyWindowMs: 300, globalWindowMs: 100 });
  return { fake, plugin };
}

async function allMessages(
  plugin: DiscordPlugin,
  fake: FakeDiscord,
  name: string,
): Promise<NormalizedMessage[]> {
  const { ctx } = testContext({ token: fake.token });
  const chat = fake.data.chats.find((c) => c.name === name)!;
  const batches = await collect(
    plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
  );
  return batches.flatMap((b) => b.messages);
}

describe('discord plugin', () => {
  let fake: FakeDiscord;
  let plugin: DiscordPlugin;
  beforeAll(async () => {
    ({ fake, plugin } = await start());
  });
  afterAll(() => fake.stop());

  test('snowflake ↔ ms', () => {
    expect(snowflakeToMs('175928847299117063')).toBe(1462015105796);
    const ms = Date.UTC(2026, 0, 1);
    expect(snowflakeToMs(snowflakeFromMs(ms))).toBe(ms);
    expect(BigInt(snowflakeFromMs(ms + 1)) - 1n).toBe(BigInt(snowflakeFromMs(ms)) + (1n << 22n) - 1n);
  });

  test('optional powers are declared and detected by the guards', () => {
    expect(plugin.id).toBe('discord');
    expect(plugin.capabilities.parts).toEqual(['profile', 'messages', 'contacts', 'groups']);
    expect(hasMedia(plugin) && hasContacts(plugin) && hasGroups(plugin)).toBe(true);
  });

  test('getProfile: bot name, avatar, bio = application description, the seed metadata', async () => {
    const { ctx } = testContext({ token: fake.token });
    const profile = await plugin.getProfile(ctx);
    expect(profile.name).toBe('omni-bot');
    expect(profile.bio).toBe('Omni history sync bot');
    expect(profile.avatarUrl).toContain(`/avatars/${fake.data.botId}/`);
    expect(profile.ownerIdentifier).toBe(fake.data.botId);
    expect(profile.platformMetadata).toMatchObject({
      botId: fake.data.botId,
      applicationId: fake.data.applicationId,
      discriminator: '0',
      isBot: true,
      guildCount: 2,
      flags: fake.options.applicationFlags,
    });
  });

  test('listChats: channels, announcements, forum posts, active/archived/private threads; unreadable reported', async () => {
    const { ctx } = testContext({ token: fake.token });
    const { chats, warnings } = await plugin.listChats(ctx);
    expect(warnings).toEqual([]);
    const byName = Object.fromEntries(chats.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'general',
        'release-thread',
        'old-thread',
        'secret-thread',
        'news',
        'how do I sync?',
        'solved: media',
        'empty',
        'staff-only',
        'fresh',
        'lobby',
      ].sort(),
    );
    expect(byName.news?.kind).toBe('announcement');
    expect(byName['how do I sync?']?.kind).toBe('forum-post');
    expect(byName['solved: media']?.kind).toBe('forum-post');
    expect(byName['old-thread']).toMatchObject({ kind: 'thread', metadata: { archived: true } });
    expect(byName['secret-thread']).toMatchObject({ kind: 'thread', metadata: { private: true } });
    expect(byName['staff-only']).toMatchObject({
      readable: false,
      reason: 'missing VIEW_CHANNEL permission',
    });
    expect(chats.filter((c) => !c.readable).length).toBe(1);
    expect(byName.general?.parentId).toBe(fake.data.guilds[0]!.id);
    expect(byName['release-thread']?.parentId).toBe(fake.data.chats.find((c) => c.name === 'general')!.id);
  });

  test('normalization: voice notes keep duration, waveform and the flag; media metadata; replies; edits', async () => {
    const msgs = await allMessages(plugin, fake, 'general');
    const voice = msgs.filter((m) => m.kind === 'voice');
    expect(voice.length).toBeGreaterThan(3);
    for (const v of voice) {
      expect(v.media[0]).toMatchObject({
        isVoiceNote: true,
        mimeType: 'audio/ogg',
        filename: 'voice-message.ogg',
      });
      expect(v.media[0]!.durationSeconds).toBeGreaterThan(0);
      expect(v.media[0]!.waveform).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
    const image = msgs.find((m) => m.kind === 'image')!;
    expect(image.media[0]!.width).toBeGreaterThan(0);
    expect(image.media[0]!.height).toBeGreaterThan(0);
    expect(image.media[0]!.size).toBeGreaterThan(0);
    expect(msgs.find((m) => m.kind === 'document')?.media[0]?.mimeType).toBe('application/pdf');
    expect(msgs.some((m) => m.kind === 'video')).toBe(true);
    expect(msgs.some((m) => m.kind === 'sticker')).toBe(true);
    expect(msgs.some((m) => m.kind === 'system')).toBe(true);
    const ids = new Set(msgs.map((m) => m.externalId));
    const replies = msgs.filter((m) => m.replyToId);
    expect(replies.length).toBeGreaterThan(10);
    for (const r of replies) expect(ids.has(r.replyToId!)).toBe(true);
    const edited = msgs.filter((m) => m.editedAt);
    expect(edited.length).toBeGreaterThan(5);
    for (const e of edited) expect(e.editedAt!).toBeGreaterThan(e.timestamp);
    const text = msgs.find((m) => m.kind === 'text')!;
    expect(text.text).toMatch(/^message \d+ in #general$/);
    expect(text.senderId).toMatch(/^\d+$/);
    expect(text.senderName).toMatch(/^User \d+$/);
    expect((text.raw as { id: string }).id).toBe(text.externalId);
  });

  test('downloadMedia streams the attachment; an expired URL is refreshed and retried once', async () => {
    const msgs = await allMessages(plugin, fake, 'news');
    const withMedia = msgs.filter((m) => m.media.length > 0).slice(0, 2);
    expect(withMedia.length).toBe(2);
    const { ctx } = testContext({ token: fake.token }, { mediaOrigins: [fake.url] });
    const [a, b] = withMedia as [NormalizedMessage, NormalizedMessage];
    const bytes = new Uint8Array(
      await new Response(await plugin.downloadMedia(ctx, a.media[0]!)).arrayBuffer(),
    );
    expect(bytes.length).toBe(a.media[0]!.size!);
    fake.stats.reset();
    fake.expireAttachmentUrls();
    const again = new Uint8Array(
      await new Response(await plugin.downloadMedia(ctx, b.media[0]!)).arrayBuffer(),
    );
    expect(again.length).toBe(b.media[0]!.size!);
    expect(fake.stats.cdnExpired).toBe(1);
    expect(fake.stats.refreshCalls).toBe(1);
    expect(plugin.stats(ctx.instance.id)!.urlRefreshes).toBe(1);
  });

  test('the API base is trusted for API calls only: its attachments need an allowed media origin', async () => {
    const msgs = await allMessages(plugin, fake, 'news');
    const attachment = msgs.find((m) => m.media.length > 0)!.media[0]!;
    const { ctx } = testContext({ token: fake.token });
    const before = fake.stats.cdnRequests;
    const failure = await plugin.downloadMedia(ctx, attachment).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MediaRefusedError);
    expect((failure as MediaRefusedError).reason).toBe('scheme');
    for (const [url, reason] of [
      ['file:///etc/passwd', 'scheme'],
      ['https://127.0.0.1/attachments/1/2/a.png', 'address'],
      ['https://cdn.discordapp.com:8443/attachments/1/2/a.png', 'host'],
      ['https://cdn.discordapp.com.evil.test/attachments/1/2/a.png', 'host'],
    ] as const) {
      const refused = await plugin.downloadMedia(ctx, { ...attachment, url }).catch((e: unknown) => e);
      expect((refused as MediaRefusedError).reason).toBe(reason);
    }
    expect(fake.stats.cdnRequests).toBe(before);
  });

  test('fetchContacts: every member of every guild, 1000 per page; fetchGroups: guilds and channels', async () => {
    const { ctx } = testContext({ token: fake.token });
    const pages = await collect(plugin.fetchContacts(ctx, { cursor: null }));
    expect(pages.map((p) => p.items.length)).toEqual([1000, 501, 13]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, false]);
    const ids = pages.flatMap((p) => p.items.map((c) => c.externalId));
    expect(new Set(ids).size).toBe(1514 - 1);
    const resumed = await collect(plugin.fetchContacts(ctx, { cursor: pages[0]!.cursor }));
    expect(resumed.flatMap((p) => p.items).length).toBe(514);
    const groups = (await collect(plugin.fetchGroups(ctx, { cursor: null }))).flatMap((p) => p.items);
    const hq = groups.find((g) => g.name === 'Omni HQ')!;
    expect(hq).toMatchObject({
      description: 'Where the sync is tested',
      memberCount: 1501,
      metadata: { kind: 'guild' },
    });
    expect(String(hq.metadata.iconUrl)).toContain(`/icons/${hq.externalId}/`);
    expect(groups.filter((g) => g.metadata.kind === 'guild').length).toBe(2);
    expect(groups.find((g) => g.name === 'help-forum')?.metadata).toMatchObject({
      kind: 'channel',
      guildId: hq.externalId,
    });
  });
});

describe('intents missing', () => {
  test('Message Content intent missing → warning; members intent refused → warning per guild, no crash', async () => {
    const { fake, plugin } = await start({ applicationFlags: 0 });
    try {
      const { ctx } = testContext({ token: fake.token });
      const { warnings } = await plugin.listChats(ctx);
      expect(warnings.some((w) => w.startsWith('Message Content intent not granted'))).toBe(true);
      const pages = await collect(plugin.fetchContacts(ctx, { cursor: null }));
      expect(pages.flatMap((p) => p.items)).toEqual([]);
      expect(pages.flatMap((p) => p.warnings ?? []).length).toBe(2);
      expect(pages[0]!.warnings![0]).toContain('Server Members privileged intent');
      const groups = await collect(plugin.fetchGroups(ctx, { cursor: null }));
      expect(groups.length).toBe(2);
    } finally {
      await fake.stop();
    }
  });

  test('no MANAGE_THREADS: private archived threads are skipped with a warning', async () => {
    const { fake, plugin } = await start({ botPermissions: (1n << 10n) | (1n << 16n) });
    try {
      const { ctx } = testContext({ token: fake.token });
      const { chats, warnings } = await plugin.listChats(ctx);
      expect(chats.some((c) => c.name === 'secret-thread')).toBe(false);
      expect(warnings.some((w) => w.includes('MANAGE_THREADS'))).toBe(true);
    } finally {
      await fake.stop();
    }
  });
});

describe('clients per token', () => {
  test('instances sharing a bot token share one client (Discord limits the token), a new token gets its own', async () => {
    const { fake, plugin } = await start();
    try {
      const a = testContext({ token: fake.token }).ctx;
      const b = testContext({ token: fake.token }).ctx;
      const c = testContext({ token: 'another-token' }).ctx;
      expect(plugin.client(a)).toBe(plugin.client(b));
      expect(plugin.client(c)).not.toBe(plugin.client(a));
      // Back-to-back history of one channel from two instances on one token: paced as one.
      const chat = fake.data.chats.find((x) => x.readable && x.messageCount > 40)!;
      const before = fake.stats.status429;
      for (const ctx of [a, b]) {
        await collect(
          plugin.fetchHistory(ctx, { chatId: chatId(chat.id), since: null, until: NOW, cursor: null }),
        );
      }
      expect(fake.stats.status429 - before).toBe(0);
      expect(plugin.stats(a.instance.id)).toBe(plugin.stats(b.instance.id));
    } finally {
      await fake.stop();
    }
  });
});
