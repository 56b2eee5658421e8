import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import type { APIMessage, RESTGetAPIChannelThreadsArchivedPublicResult } from 'discord-api-types/v10';
import { FakeDiscord, mixedScenario, snowflakeToMs } from '../src/discord/index.ts';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
setDefaultTimeout(30_000);

async function get(fake: FakeDiscord, path: string, token = fake.token): Promise<Response> {
  return fetch(`${fake.apiUrl}/v10${path}`, { headers: { Authorization: `Bot ${token}` } });
}

describe('fake Discord: data and routes', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await FakeDiscord.start({
      data: mixedScenario({ nowMs: NOW }),
      messageRateLimit: { limit: 1000, windowMs: 1000 },
      globalRateLimit: { limit: 1000, windowMs: 1000 },
      routeRateLimit: { limit: 1000, windowMs: 1000 },
    });
  });
  afterAll(() => fake.stop());

  test('messages page newest first, before/after/around, and the pages cover the history exactly', async () => {
    const chat = fake.data.chats.find((c) => c.name === 'general')!;
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const res = await get(
        fake,
        `/channels/${chat.id}/messages?limit=100${before ? `&before=${before}` : ''}`,
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as APIMessage[];
      if (page.length === 0) break;
      for (let i = 1; i < page.length; i++) expect(BigInt(page[i - 1]!.id) > BigInt(page[i]!.id)).toBe(true);
      seen.push(...page.map((m) => m.id));
      before = page.at(-1)!.id;
    }
    expect(seen.length).toBe(chat.messageCount);
    expect(seen.reverse()).toEqual(fake.expectedIds(chat, null, NOW));
    const mid = seen[200]!;
    const after = (await (
      await get(fake, `/channels/${chat.id}/messages?limit=5&after=${mid}`)
    ).json()) as APIMessage[];
    expect(after.map((m) => m.id)).toEqual(seen.slice(201, 206).reverse());
    const around = (await (
      await get(fake, `/channels/${chat.id}/messages?limit=4&around=${mid}`)
    ).json()) as APIMessage[];
    expect(around.map((m) => m.id)).toContain(mid);
    const dflt = (await (await get(fake, `/channels/${chat.id}/messages`)).json()) as APIMessage[];
    expect(dflt.length).toBe(50);
    expect((await get(fake, `/channels/${chat.id}/messages?limit=101`)).status).toBe(400);
  });

  test('timestamps match snowflakes, and the shapes include voice, images, PDFs, replies, edits', async () => {
    const chat = fake.data.chats.find((c) => c.name === 'general')!;
    const res = await get(fake, `/channels/${chat.id}/messages?limit=100`);
    const msgs = (await res.json()) as APIMessage[];
    const all = [...msgs];
    const older = (await (
      await get(fake, `/channels/${chat.id}/messages?limit=100&before=${msgs.at(-1)!.id}`)
    ).json()) as APIMessage[];
    all.push(...older);
    for (const m of all) expect(new Date(m.timestamp).getTime()).toBe(snowflakeToMs(m.id));
    const voice = all.find((m) => (m.flags ?? 0) & (1 << 13));
    expect(voice?.attachments[0]?.duration_secs).toBeGreaterThan(0);
    expect(typeof voice?.attachments[0]?.waveform).toBe('string');
    expect(
      all.some((m) => m.attachments[0]?.content_type === 'image/png' && (m.attachments[0]?.width ?? 0) > 0),
    ).toBe(true);
    expect(all.some((m) => m.message_reference?.message_id)).toBe(true);
    expect(all.some((m) => m.edited_timestamp !== null)).toBe(true);
    const again = (await (await get(fake, `/channels/${chat.id}/messages?limit=100`)).json()) as APIMessage[];
    expect(again.map((m) => m.content)).toEqual(msgs.map((m) => m.content));
  });

  test('401 for a bad token, 403 for an unreadable channel, 404 for an unknown one', async () => {
    const staff = fake.data.chats.find((c) => c.name === 'staff-only')!;
    expect((await get(fake, '/users/@me', 'nope')).status).toBe(401);
    const denied = await get(fake, `/channels/${staff.id}/messages`);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: number }).code).toBe(50001);
    expect((await get(fake, '/channels/123/messages')).status).toBe(404);
  });

  test('threads: active, archived public and private', async () => {
    const guild = fake.data.guilds[0]!;
    const general = fake.data.chats.find((c) => c.name === 'general')!;
    const active = (await (await get(fake, `/guilds/${guild.id}/threads/active`)).json()) as {
      threads: { name: string }[];
    };
    expect(active.threads.map((t) => t.name).sort()).toEqual(['how do I sync?', 'release-thread']);
    const pub = (await (
      await get(fake, `/channels/${general.id}/threads/archived/public`)
    ).json()) as RESTGetAPIChannelThreadsArchivedPublicResult;
    expect(pub.threads.map((t) => t.name)).toEqual(['old-thread']);
    const priv = (await (
      await get(fake, `/channels/${general.id}/threads/archived/private`)
    ).json()) as RESTGetAPIChannelThreadsArchivedPublicResult;
    expect(priv.threads.map((t) => t.name)).toEqual(['secret-thread']);
  });

  test('members page by id with after, bot first', async () => {
    const guild = fake.data.guilds[0]!;
    const ids: string[] = [];
    let after = '0';
    for (;;) {
      const page = (await (
        await get(fake, `/guilds/${guild.id}/members?limit=1000&after=${after}`)
      ).json()) as {
        user: { id: string };
      }[];
      ids.push(...page.map((m) => m.user.id));
      if (page.length < 1000) break;
      after = page.at(-1)!.user.id;
    }
    expect(ids.length).toBe(guild.memberCount + 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe(fake.data.botId);
  });

  test('attachments: signed URL served with type and length, 404 once expired, refreshed by refresh-urls', async () => {
    const chat = fake.data.chats.find((c) => c.name === 'general')!;
    const msgs = (await (await get(fake, `/channels/${chat.id}/messages?limit=100`)).json()) as APIMessage[];
    const att = msgs.flatMap((m) => m.attachments)[0]!;
    expect(att.url).toMatch(/\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+$/);
    const ok = await fetch(att.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe(att.content_type!);
    expect((await ok.arrayBuffer()).byteLength).toBe(att.size);
    fake.expireAttachmentUrls();
    expect((await fetch(att.url)).status).toBe(404);
    const refreshed = await fetch(`${fake.apiUrl}/v10/attachments/refresh-urls`, {
      method: 'POST',
      headers: { Authorization: `Bot ${fake.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ attachment_urls: [att.url] }),
    });
    const body = (await refreshed.json()) as { refreshed_urls: { original: string; refreshed: string }[] };
    expect(body.refreshed_urls[0]?.original).toBe(att.url);
    expect((await fetch(body.refreshed_urls[0]!.refreshed)).status).toBe(200);
    fake.advanceClock(2 * 86_400_000);
    expect((await fetch(body.refreshed_urls[0]!.refreshed)).status).toBe(404);
    fake.advanceClock(-2 * 86_400_000);
  });

  test('profile routes', async () => {
    const me = (await (await get(fake, '/users/@me')).json()) as { id: string; bot: boolean };
    expect(me).toMatchObject({ id: fake.data.botId, bot: true });
    const app = (await (await get(fake, '/oauth2/applications/@me')).json()) as {
      flags: number;
      description: string;
    };
    expect(app.flags & (1 << 18)).toBeTruthy();
    expect(app.description).toBe('Omni history sync bot');
    const guilds = (await (await get(fake, '/users/@me/guilds?with_counts=true')).json()) as {
      approximate_member_count: number;
    }[];
    expect(guilds.map((g) => g.approximate_member_count)).toEqual([1501, 13]);
  });
});

describe('fake Discord: rate limits and faults', () => {
  test('per-channel bucket: the 6th request in the window is a 429 with Discord headers; counted', async () => {
    const fake = await FakeDiscord.start({
      data: mixedScenario({ nowMs: NOW }),
      messageRateLimit: { limit: 5, windowMs: 400 },
    });
    try {
      const chat = fake.data.chats.find((c) => c.name === 'general')!;
      const other = fake.data.chats.find((c) => c.name === 'news')!;
      const statuses: number[] = [];
      let last: Response | null = null;
      for (let i = 0; i < 6; i++) {
        last = await get(fake, `/channels/${chat.id}/messages?limit=1`);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(last!.headers.get('retry-after')).toBe('1');
      expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(last!.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]{16}$/);
      const body = (await last!.json()) as { retry_after: number; global: boolean };
      expect(body.retry_after).toBeGreaterThan(0);
      expect(body.retry_after).toBeLessThanOrEqual(0.4);
      expect(body.global).toBe(false);
      expect((await get(fake, `/channels/${other.id}/messages?limit=1`)).status).toBe(200);
      expect(fake.stats.status429).toBe(1);
      expect(fake.stats.limit429).toBe(1);
      expect(fake.stats.route('GET /channels/:channel/messages')).toBe(7);
    } finally {
      await fake.stop();
    }
  });

  test('global limit per token answers 429 with X-RateLimit-Global', async () => {
    const fake = await FakeDiscord.start({
      data: mixedScenario({ nowMs: NOW }),
      globalRateLimit: { limit: 3, windowMs: 60_000 },
    });
    try {
      const res = await Promise.all([1, 2, 3, 4].map(() => get(fake, '/users/@me')));
      const limited = res.filter((r) => r.status === 429);
      expect(limited.length).toBe(1);
      expect(limited[0]!.headers.get('x-ratelimit-global')).toBe('true');
      expect(fake.stats.global429).toBe(1);
    } finally {
      await fake.stop();
    }
  });

  test('lying headers advertise a big bucket while the hidden limit answers 429', async () => {
    const fake = await FakeDiscord.start({
      data: mixedScenario({ nowMs: NOW }),
      messageRateLimit: { limit: 2, windowMs: 500 },
      advertisedMessageLimit: 1000,
    });
    try {
      const chat = fake.data.chats.find((c) => c.name === 'general')!;
      const a = await get(fake, `/channels/${chat.id}/messages?limit=1`);
      expect(a.headers.get('x-ratelimit-limit')).toBe('1000');
      expect(a.headers.get('x-ratelimit-remaining')).toBe('999');
      await get(fake, `/channels/${chat.id}/messages?limit=1`);
      expect((await get(fake, `/channels/${chat.id}/messages?limit=1`)).status).toBe(429);
    } finally {
      await fake.stop();
    }
  });

  test('fault injection: N 429s after request K, HTML 429, 500, truncated, slow', async () => {
    const fake = await FakeDiscord.start({ data: mixedScenario({ nowMs: NOW }) });
    try {
      fake.inject({ kind: '429-html', afterRequest: 1, count: 2, route: /^\/users\/@me$/ });
      const s = [];
      for (let i = 0; i < 4; i++) s.push(await get(fake, '/users/@me'));
      expect(s.map((r) => r.status)).toEqual([200, 429, 429, 200]);
      expect(s[1]!.headers.get('content-type')).toContain('text/html');
      expect(s[1]!.headers.get('retry-after')).toBeNull();
      expect(s[1]!.headers.get('x-ratelimit-limit')).toBeNull();
      fake.faults.clear();
      fake.inject({ kind: '500' });
      expect((await get(fake, '/users/@me')).status).toBe(500);
      fake.inject({ kind: 'truncated' });
      const t = await get(fake, '/users/@me');
      expect(t.status).toBe(200);
      await expect(t.json()).rejects.toThrow();
      fake.inject({ kind: '429-bare-json', retryAfterSeconds: 0.1 });
      const bare = await get(fake, '/users/@me');
      expect(bare.status).toBe(429);
      expect(bare.headers.get('retry-after')).toBeNull();
      expect(((await bare.json()) as { retry_after: number }).retry_after).toBe(0.1);
      fake.inject({ kind: 'slow', delayMs: 150 });
      expect((await get(fake, '/users/@me')).status).toBe(200);
      expect(fake.faults.hits.at(-1)).toBe(1);
      expect(fake.stats.status429).toBe(3);
      expect(fake.stats.limit429).toBe(0);
    } finally {
      await fake.stop();
    }
  });

  test('members intent refused and Message Content intent missing', async () => {
    const fake = await FakeDiscord.start({ data: mixedScenario({ nowMs: NOW }), applicationFlags: 0 });
    try {
      const guild = fake.data.guilds[0]!;
      expect((await get(fake, `/guilds/${guild.id}/members?limit=10`)).status).toBe(403);
      const chat = fake.data.chats.find((c) => c.name === 'general')!;
      const msgs = (await (
        await get(fake, `/channels/${chat.id}/messages?limit=100`)
      ).json()) as APIMessage[];
      expect(msgs.every((m) => m.content === '' && m.attachments.length === 0 && m.embeds.length === 0)).toBe(
        true,
      );
    } finally {
      await fake.stop();
    }
  });

  test('millions of messages are derived lazily', async () => {
    const fake = await FakeDiscord.start({
      data: {
        nowMs: NOW,
        guilds: [
          { name: 'big', channels: [{ name: 'firehose', messageCount: 3_000_000, historyDays: 400 }] },
        ],
      },
      messageRateLimit: { limit: 100, windowMs: 1000 },
    });
    try {
      const chat = fake.data.chats[0]!;
      expect(fake.data.totalMessages).toBe(3_000_000);
      const newest = (await (
        await get(fake, `/channels/${chat.id}/messages?limit=100`)
      ).json()) as APIMessage[];
      expect(newest[0]!.id).toBe(fake.messages.idAt(chat, 2_999_999));
      const mid = fake.messages.idAt(chat, 1_500_000);
      const page = (await (
        await get(fake, `/channels/${chat.id}/messages?limit=100&before=${mid}`)
      ).json()) as APIMessage[];
      expect(page[0]!.id).toBe(fake.messages.idAt(chat, 1_499_999));
      expect(page.length).toBe(100);
    } finally {
      await fake.stop();
    }
  });
});
