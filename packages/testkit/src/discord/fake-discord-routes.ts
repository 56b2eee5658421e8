import { createHash } from 'node:crypto';
import type {
  APIGuildMember,
  RESTGetAPIChannelMessagesResult,
  RESTGetAPIChannelThreadsArchivedPublicResult,
  RESTGetAPIGuildThreadsResult,
} from 'discord-api-types/v10';
import type { FakeChat, FakeGuild } from './discord-dataset.ts';
import type { FakeDiscord } from './fake-discord-server.ts';
import {
  application,
  archiveTimestamp,
  botMember,
  botUser,
  fullGuild,
  guildChannels,
  member,
  partialGuild,
  thread,
} from './payloads.ts';

/** Answer of `POST /attachments/refresh-urls` (not typed by discord-api-types 0.38). */
export interface RefreshUrlsResult {
  refreshed_urls: { original: string; refreshed: string }[];
}

/** What a route handler returns; the server adds headers and serialises. */
export interface RouteAnswer {
  status: number;
  body: unknown;
}

/** Inputs of a route handler. */
export interface RouteInput {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

/** One API route of the fake. */
export interface FakeRoute {
  method: 'GET' | 'POST';
  /** `/channels/:channel/messages` */
  template: string;
  regex: RegExp;
  /** `messages` routes share the per-channel history limit. */
  bucket: 'messages' | 'route';
  /** Value of `X-RateLimit-Bucket`. */
  hash: string;
  handle(input: RouteInput): RouteAnswer | Promise<RouteAnswer>;
}

const ok = (body: unknown): RouteAnswer => ({ status: 200, body });
const notFound = (what: string, code: number): RouteAnswer => ({
  status: 404,
  body: { message: `Unknown ${what}`, code },
});
const missingAccess: RouteAnswer = { status: 403, body: { message: 'Missing Access', code: 50001 } };
const invalid = (field: string): RouteAnswer => ({
  status: 400,
  body: {
    message: 'Invalid Form Body',
    code: 50035,
    errors: { [field]: { _errors: [{ code: 'NUMBER_TYPE_MAX' }] } },
  },
});

function route(
  method: FakeRoute['method'],
  template: string,
  handle: FakeRoute['handle'],
  bucket: FakeRoute['bucket'] = 'route',
): FakeRoute {
  const pattern = template.replace(/[.@]/g, (c) => `\\${c}`).replace(/:(\w+)/g, '(?<$1>[^/]+)');
  return {
    method,
    template,
    regex: new RegExp(`^${pattern}$`),
    bucket,
    hash: createHash('sha1').update(`${method} ${template}`).digest('hex').slice(0, 16),
    handle,
  };
}

function intParam(
  query: URLSearchParams,
  name: string,
  def: number,
  min: number,
  max: number,
): number | null {
  const raw = query.get(name);
  if (raw === null) return def;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : null;
}

/** The routes of a fake, bound to it. */
export function buildRoutes(fake: FakeDiscord): FakeRoute[] {
  const data = fake.data;
  const gen = fake.messages;
  const guildOf = (id: string | undefined): FakeGuild | undefined => (id ? data.guild(id) : undefined);
  const chatOf = (id: string | undefined): FakeChat | undefined => (id ? data.chat(id) : undefined);
  const archived = (channelId: string, priv: boolean, query: URLSearchParams): RouteAnswer => {
    const parent = chatOf(channelId);
    if (!parent) return notFound('Channel', 10003);
    if (!parent.readable || (priv && !fake.canManageThreads)) return missingAccess;
    const limit = intParam(query, 'limit', 50, 2, 100);
    if (limit === null) return invalid('limit');
    const before = query.get('before');
    const all = data.chats
      .filter((c) => c.parentId === parent.id && c.archived && c.isPrivate === priv)
      .filter((c) => before === null || archiveTimestamp(c) < new Date(before).toISOString())
      .sort((a, b) => (archiveTimestamp(a) < archiveTimestamp(b) ? 1 : -1));
    const page = all.slice(0, limit);
    const body: RESTGetAPIChannelThreadsArchivedPublicResult = {
      threads: page.map((c) => thread(c, gen, data.botId)),
      members: [],
      has_more: all.length > limit,
    };
    return ok(body);
  };

  return [
    route('GET', '/users/@me', () => ok(botUser(data))),
    route('GET', '/oauth2/applications/@me', () => ok(application(data, fake.options.applicationFlags))),
    route('GET', '/users/@me/guilds', ({ query }) => {
      const limit = intParam(query, 'limit', 200, 1, 200);
      if (limit === null) return invalid('limit');
      const after = query.get('after');
      const withCounts = query.get('with_counts') === 'true';
      const list = data.guilds.filter((g) => after === null || BigInt(g.id) > BigInt(after)).slice(0, limit);
      return ok(list.map((g) => partialGuild(g, fake.options.botPermissions, withCounts)));
    }),
    route('GET', '/guilds/:guild', ({ params, query }) => {
      const guild = guildOf(params.guild);
      if (!guild) return notFound('Guild', 10004);
      return ok(fullGuild(guild, fake.options.botPermissions, query.get('with_counts') === 'true'));
    }),
    route('GET', '/guilds/:guild/channels', ({ params }) => {
      const guild = guildOf(params.guild);
      return guild ? ok(guildChannels(data, guild, gen)) : notFound('Guild', 10004);
    }),
    route('GET', '/guilds/:guild/threads/active', ({ params }) => {
      const guild = guildOf(params.guild);
      if (!guild) return notFound('Guild', 10004);
      const body: RESTGetAPIGuildThreadsResult = {
        threads: data
          .chatsOfGuild(guild.id)
          .filter((c) => c.isThread && !c.archived && c.readable)
          .map((c) => thread(c, gen, data.botId)),
        members: [],
      };
      return ok(body);
    }),
    route('GET', '/channels/:channel/threads/archived/public', ({ params, query }) =>
      archived(params.channel ?? '', false, query),
    ),
    route('GET', '/channels/:channel/threads/archived/private', ({ params, query }) =>
      archived(params.channel ?? '', true, query),
    ),
    route(
      'GET',
      '/channels/:channel/messages',
      ({ params, query }) => {
        const chat = chatOf(params.channel);
        if (!chat) return notFound('Channel', 10003);
        if (!chat.readable) return missingAccess;
        fake.stats.historyPage(chat.id);
        const limit = intParam(query, 'limit', 50, 1, 100);
        if (limit === null) return invalid('limit');
        const q = { limit } as { limit: number; before?: string; after?: string; around?: string };
        for (const k of ['before', 'after', 'around'] as const) {
          const v = query.get(k);
          if (v !== null) {
            if (!/^\d{1,20}$/.test(v)) return invalid(k);
            q[k] = v;
          }
        }
        const options = {
          messageContent: fake.messageContent,
          signUrl: (p: string) => fake.signAttachment(p),
        };
        const rewrite = fake.options.attachmentRewrite;
        const body: RESTGetAPIChannelMessagesResult = gen.pageIndices(chat, q).map((n) => {
          const message = gen.message(chat, n, options);
          if (rewrite)
            message.attachments = message.attachments.map((a) => rewrite(a, { chatId: chat.id, n }));
          return message;
        });
        return ok(body);
      },
      'messages',
    ),
    route('GET', '/guilds/:guild/members', ({ params, query }) => {
      const guild = guildOf(params.guild);
      if (!guild) return notFound('Guild', 10004);
      if (!fake.options.membersIntent) return missingAccess;
      const limit = intParam(query, 'limit', 1, 1, 1000);
      if (limit === null) return invalid('limit');
      const after = query.get('after') ?? '0';
      const out: APIGuildMember[] = [];
      if (BigInt(after) < BigInt(data.botId)) out.push(botMember(data, guild));
      for (let i = data.memberIndexAfter(guild, after); i < guild.memberCount && out.length < limit; i++) {
        out.push(member(data, guild, i));
      }
      return ok(out);
    }),
    route('GET', '/guilds/:guild/members/:user', ({ params }) => {
      const guild = guildOf(params.guild);
      if (!guild) return notFound('Guild', 10004);
      if (params.user === data.botId) return ok(botMember(data, guild));
      const i = data.memberIndexAfter(guild, params.user ?? '0') - 1;
      if (i < 0 || i >= guild.memberCount || data.memberId(guild, i) !== params.user)
        return notFound('Member', 10007);
      return ok(member(data, guild, i));
    }),
    route('POST', '/attachments/refresh-urls', ({ body }) => {
      fake.stats.refreshCalls++;
      const urls = (body as { attachment_urls?: unknown } | null)?.attachment_urls;
      if (!Array.isArray(urls) || urls.length > 50) return invalid('attachment_urls');
      const refreshed: RefreshUrlsResult['refreshed_urls'] = [];
      for (const original of urls) {
        if (typeof original !== 'string') continue;
        const rewrite = fake.options.refreshRewrite;
        if (rewrite) {
          const answer = rewrite(original);
          if (answer !== null) refreshed.push({ original, refreshed: answer });
          continue;
        }
        const parsed = URL.parse(original);
        if (!parsed || fake.attachmentUrlState(parsed) === 'invalid') continue;
        refreshed.push({ original, refreshed: fake.signAttachment(parsed.pathname) });
      }
      return ok({ refreshed_urls: refreshed } satisfies RefreshUrlsResult);
    }),
  ];
}
