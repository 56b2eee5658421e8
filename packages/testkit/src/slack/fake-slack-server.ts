import { FaultInjector, type FaultWindow } from '../discord/fault-injector.ts';
import { type FakeSlackChannel, microsFromTs, SlackDataset, type SlackDatasetSpec } from './slack-dataset.ts';
import {
  conversationPayload,
  fileBytes,
  replyMessage,
  type SlackObject,
  topMessage,
  userPayload,
} from './slack-payloads.ts';
import {
  SLACK_METHOD_TIERS,
  SLACK_TIER_PER_MINUTE,
  SlidingWindowCounter,
  UNLISTED_LIMITS,
  UNLISTED_METHODS,
} from './slack-tiers.ts';

/** What an injected fault does to an API request. */
export interface FakeSlackFault extends FaultWindow {
  /**
   * `429`: `Retry-After` and `{ok:false,error:"ratelimited"}`; `429-no-retry-after`: the same without
   * the header; `500`/`503`: an HTML error page; `truncated`: the normal answer cut in half; `slow`:
   * the normal answer `delayMs` late; `error`: HTTP 200 `{ok:false,error}` with `error`.
   */
  kind: '429' | '429-no-retry-after' | '500' | '503' | 'truncated' | 'slow' | 'error';
  /** `Retry-After` of an injected 429, whole seconds. @defaultValue 1 */
  retryAfterSeconds?: number;
  /** Delay of a `slow` answer, ms. @defaultValue 1000 */
  delayMs?: number;
  /** Error code of an `error` answer. @defaultValue 'internal_error' */
  error?: string;
}

/** Options of {@link FakeSlack.start}. */
export interface FakeSlackOptions {
  data: SlackDatasetSpec | SlackDataset;
  /** @defaultValue 0 (any free port) */
  port?: number;
  /** The token the fake accepts. @defaultValue 'xoxb-fake-token' */
  token?: string;
  /** Scopes the token was granted (`x-oauth-scopes`). @defaultValue every scope a full sync needs */
  scopes?: string[];
  /** How Slack rates the app: `unlisted` = 1 history/replies request per minute, 15 per page. @defaultValue 'internal' */
  appTier?: 'internal' | 'marketplace' | 'unlisted';
  /**
   * Length of Slack's per-minute windows, ms. Benchmarks scale it down so a Tier 3 run takes
   * seconds (the request counts per window stay Slack's). @defaultValue 60000
   */
  tierWindowMs?: number;
  /** Enforce the tiers at all. @defaultValue true */
  enforceTiers?: boolean;
}

/** Every scope a full sync uses. */
export const FULL_SLACK_SCOPES = [
  'channels:read',
  'channels:history',
  'groups:read',
  'groups:history',
  'im:read',
  'im:history',
  'mpim:read',
  'mpim:history',
  'users:read',
  'team:read',
  'files:read',
] as const;

const READ_SCOPE = {
  public_channel: 'channels:read',
  private_channel: 'groups:read',
  im: 'im:read',
  mpim: 'mpim:read',
};
const HISTORY_SCOPE = {
  public_channel: 'channels:history',
  private_channel: 'groups:history',
  im: 'im:history',
  mpim: 'mpim:history',
};

/** What the fake counted. */
export class FakeSlackStats {
  /** API requests received (file downloads excluded). */
  requests = 0;
  readonly byMethod = new Map<string, number>();
  /** Every 429 sent, however caused. */
  status429 = 0;
  /** 429s caused by the tiers (not injected). */
  limit429 = 0;
  /** `ok:false` answers by error code. */
  readonly errors = new Map<string, number>();
  /** File downloads, and those refused for missing auth. */
  fileRequests = 0;
  fileUnauthorized = 0;

  /** Requests to one method. */
  method(name: string): number {
    return this.byMethod.get(name) ?? 0;
  }
}

class SlackAnswer extends Error {
  constructor(
    readonly code: string,
    readonly extra: SlackObject = {},
  ) {
    super(code);
  }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

/**
 * A local Slack Web API: the methods a history sync needs, Slack's rate-limit tiers per method per
 * workspace with `Retry-After`, cursor paging, threads, files behind bearer auth, Slack's
 * `ok:false` error bodies (`missing_scope`, `not_in_channel`, `channel_not_found`,
 * `invalid_auth`, `ratelimited`, …), counters in `stats` and fault injection with `inject()`.
 *
 * @example
 * const fake = await FakeSlack.start({ data: { channels: [{ name: 'general', messageCount: 500 }] } });
 * const client = new WebClient(fake.token, { slackApiUrl: fake.apiUrl });
 */
export class FakeSlack {
  readonly data: SlackDataset;
  readonly stats = new FakeSlackStats();
  readonly faults = new FaultInjector<FakeSlackFault>();
  readonly token: string;
  readonly scopes: string[];
  readonly appTier: 'internal' | 'marketplace' | 'unlisted';
  readonly tierWindowMs: number;
  readonly #enforce: boolean;
  readonly #windows = new SlidingWindowCounter();
  #server: ReturnType<typeof Bun.serve> | null = null;

  private constructor(options: FakeSlackOptions) {
    this.data = options.data instanceof SlackDataset ? options.data : new SlackDataset(options.data);
    this.token = options.token ?? 'xoxb-fake-token';
    this.scopes = [...(options.scopes ?? FULL_SLACK_SCOPES)];
    this.appTier = options.appTier ?? 'internal';
    this.tierWindowMs = options.tierWindowMs ?? 60_000;
    this.#enforce = options.enforceTiers ?? true;
  }

  /** Starts a fake on a local port. */
  static async start(options: FakeSlackOptions): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    fake.#server = Bun.serve({
      port: options.port ?? 0,
      hostname: '127.0.0.1',
      fetch: (req) => fake.#handle(req),
    });
    return fake;
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    if (!this.#server) throw new Error('fake Slack not started');
    return `http://127.0.0.1:${this.#server.port}`;
  }

  /** What `@slack/web-api`'s `slackApiUrl` should be: `http://127.0.0.1:PORT/api/`. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** The fake's host (`127.0.0.1:PORT`), to put on a media host allowlist. */
  get host(): string {
    return new URL(this.url).host;
  }

  /** Injects a fault on API methods (see {@link FakeSlackFault}). */
  inject(fault: FakeSlackFault): void {
    this.faults.add(fault);
  }

  /** Requests per window a method allows here (its tier, or the unlisted rule). */
  methodLimit(method: string): number {
    if (this.appTier === 'unlisted' && (UNLISTED_METHODS as readonly string[]).includes(method)) {
      return UNLISTED_LIMITS.perMinute;
    }
    return SLACK_TIER_PER_MINUTE[SLACK_METHOD_TIERS[method] ?? 3];
  }

  /** The exact ts set a sync of `channel` must store for [since, until) (see {@link SlackDataset.expectedTs}). */
  expectedIds(channel: FakeSlackChannel, since: number | null, until: number): string[] {
    return this.data.expectedTs(channel, since, until);
  }

  async stop(): Promise<void> {
    await this.#server?.stop(true);
    this.#server = null;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname.startsWith('/files-pri/')) return this.#file(req, url);
    const m = /^\/api\/([a-z]+\.[a-zA-Z.]+)$/.exec(url.pathname);
    if (!m) return new Response('not found', { status: 404 });
    const method = m[1]!;
    const params = await readParams(req, url);
    this.stats.requests++;
    this.stats.byMethod.set(method, this.stats.method(method) + 1);
    const fault = this.faults.next(method);
    if (fault && fault.kind !== 'truncated' && fault.kind !== 'slow') return this.#faultAnswer(fault);
    if (fault?.kind === 'slow') await Bun.sleep(fault.delayMs ?? 1000);
    const token = bearer(req) ?? params.get('token');
    if (token !== this.token) return this.#error('invalid_auth');
    if (this.#enforce) {
      const verdict = this.#windows.take(
        `${this.data.teamId}:${method}`,
        this.methodLimit(method),
        this.tierWindowMs,
        performance.now(),
      );
      if (!verdict.ok) {
        this.stats.limit429++;
        return this.#ratelimited(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)));
      }
    }
    let body: SlackObject;
    try {
      body = { ok: true, ...this.#answer(method, params) };
    } catch (error) {
      if (error instanceof SlackAnswer) return this.#error(error.code, error.extra);
      throw error;
    }
    const headers = { 'x-oauth-scopes': this.scopes.join(',') };
    if (fault?.kind === 'truncated') {
      const text = JSON.stringify(body);
      return new Response(text.slice(0, Math.floor(text.length / 2)), {
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      });
    }
    return json(body, 200, headers);
  }

  #faultAnswer(fault: FakeSlackFault): Response {
    if (fault.kind === '429') return this.#ratelimited(fault.retryAfterSeconds ?? 1);
    if (fault.kind === '429-no-retry-after') {
      this.stats.status429++;
      return json({ ok: false, error: 'ratelimited' }, 429);
    }
    if (fault.kind === 'error') return this.#error(fault.error ?? 'internal_error');
    return new Response(`<html><body>${fault.kind} Server Error</body></html>`, {
      status: Number(fault.kind),
      headers: { 'content-type': 'text/html' },
    });
  }

  #ratelimited(seconds: number): Response {
    this.stats.status429++;
    return json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(seconds) });
  }

  #error(code: string, extra: SlackObject = {}): Response {
    this.stats.errors.set(code, (this.stats.errors.get(code) ?? 0) + 1);
    return json({ ok: false, error: code, ...extra }, 200);
  }

  #need(scope: string): void {
    if (!this.scopes.includes(scope))
      throw new SlackAnswer('missing_scope', { needed: scope, provided: this.scopes.join(',') });
  }

  #channel(params: URLSearchParams, history: boolean): FakeSlackChannel {
    const c = this.data.channel(params.get('channel') ?? '');
    if (!c || (c.type === 'private_channel' && !c.member)) throw new SlackAnswer('channel_not_found');
    this.#need(history ? HISTORY_SCOPE[c.type] : READ_SCOPE[c.type]);
    if (history && !c.member) throw new SlackAnswer('not_in_channel');
    return c;
  }

  #answer(method: string, p: URLSearchParams): SlackObject {
    const d = this.data;
    switch (method) {
      case 'auth.test':
        return {
          url: `https://${d.teamDomain}.slack.com/`,
          team: d.teamName,
          user: 'omni-sync',
          team_id: d.teamId,
          user_id: d.botUserId,
          bot_id: d.botId,
          is_enterprise_install: false,
        };
      case 'team.info':
        this.#need('team:read');
        return {
          team: {
            id: d.teamId,
            name: d.teamName,
            domain: d.teamDomain,
            email_domain: '',
            icon: { image_132: `${this.url}/avatars/${d.teamId}_132.png`, image_default: false },
          },
        };
      case 'bots.info':
        this.#need('users:read');
        if (p.get('bot') !== d.botId) throw new SlackAnswer('bot_not_found');
        return {
          bot: {
            id: d.botId,
            deleted: false,
            name: 'omni-sync',
            app_id: 'A0FAKEAPP',
            user_id: d.botUserId,
            icons: { image_36: `${this.url}/avatars/bot_36.png`, image_72: `${this.url}/avatars/bot_72.png` },
          },
        };
      case 'users.info': {
        this.#need('users:read');
        const u = d.users.find((x) => x.id === p.get('user'));
        if (!u) throw new SlackAnswer('user_not_found');
        return { user: userPayload(d, this.url, u) };
      }
      case 'users.list': {
        this.#need('users:read');
        const { items, next } = page(d.users, p, 200, 1000);
        return {
          members: items.map((u) => userPayload(d, this.url, u)),
          response_metadata: { next_cursor: next },
        };
      }
      case 'conversations.list': {
        const types = (p.get('types') ?? 'public_channel').split(',').filter(Boolean);
        for (const t of types) {
          if (!(t in READ_SCOPE)) throw new SlackAnswer('invalid_types');
          this.#need(READ_SCOPE[t as keyof typeof READ_SCOPE]);
        }
        const excludeArchived = p.get('exclude_archived') === 'true' || p.get('exclude_archived') === '1';
        const visible = d.channels.filter(
          (c) =>
            types.includes(c.type) &&
            (c.type === 'public_channel' || c.member) &&
            !(excludeArchived && c.archived),
        );
        const { items, next } = page(visible, p, 100, 1000);
        return {
          channels: items.map((c) => conversationPayload(d, c)),
          response_metadata: { next_cursor: next },
        };
      }
      case 'conversations.members': {
        const c = this.#channel(p, false);
        const { items, next } = page(c.members, p, 100, 1000);
        return { members: items, response_metadata: { next_cursor: next } };
      }
      case 'conversations.history':
        return this.#history(this.#channel(p, true), p);
      case 'conversations.replies':
        return this.#replies(this.#channel(p, true), p);
      default:
        throw new SlackAnswer('unknown_method');
    }
  }

  #pageLimit(method: string, p: URLSearchParams, def: number, max: number): number {
    const unlisted = this.appTier === 'unlisted' && (UNLISTED_METHODS as readonly string[]).includes(method);
    const cap = unlisted ? UNLISTED_LIMITS.maxPage : max;
    const asked = Number(p.get('limit') ?? (unlisted ? UNLISTED_LIMITS.maxPage : def));
    if (!Number.isFinite(asked) || asked < 0) throw new SlackAnswer('invalid_limit');
    return Math.max(1, Math.min(cap, asked === 0 ? def : Math.floor(asked)));
  }

  #bounds(p: URLSearchParams): { oldest: number; latest: number } {
    const inclusive = p.get('inclusive') === 'true' || p.get('inclusive') === '1';
    const oldestText = p.get('oldest');
    const latestText = p.get('latest');
    let oldest = oldestText ? microsFromTs(oldestText) : Number.NEGATIVE_INFINITY;
    let latest = latestText ? microsFromTs(latestText) : Number.POSITIVE_INFINITY;
    if (Number.isNaN(oldest)) throw new SlackAnswer('invalid_ts_oldest');
    if (Number.isNaN(latest)) throw new SlackAnswer('invalid_ts_latest');
    if (inclusive) {
      oldest -= 1;
      latest += 1;
    }
    return { oldest, latest: Math.min(latest, this.data.nowMs * 1000 + 1) };
  }

  #history(c: FakeSlackChannel, p: URLSearchParams): SlackObject {
    const limit = this.#pageLimit('conversations.history', p, 100, 999);
    let { oldest, latest } = this.#bounds(p);
    const cursor = p.get('cursor');
    if (cursor) {
      const at = decodeCursor(cursor, 'next_ts');
      if (at === null) throw new SlackAnswer('invalid_cursor');
      latest = Math.min(latest, at);
    }
    const { from, to } = this.data.topRange(c, oldest, latest);
    const messages: SlackObject[] = [];
    for (let i = to; i >= from && messages.length < limit; i--)
      messages.push(topMessage(this.data, this.url, c, i));
    const last = to - messages.length;
    const hasMore = last >= from;
    const next = hasMore ? encodeCursor('next_ts', this.data.topMicros(c, last + 1)) : '';
    return { messages, has_more: hasMore, pin_count: 0, response_metadata: { next_cursor: next } };
  }

  #replies(c: FakeSlackChannel, p: URLSearchParams): SlackObject {
    const limit = this.#pageLimit('conversations.replies', p, 1000, 1000);
    const rootMicros = microsFromTs(p.get('ts') ?? '');
    const i = Number.isNaN(rootMicros) ? -1 : this.data.topIndex(c, rootMicros);
    if (i < 0) throw new SlackAnswer('thread_not_found');
    const root = topMessage(this.data, this.url, c, i);
    if (!this.data.isRoot(c, i))
      return { messages: [root], has_more: false, response_metadata: { next_cursor: '' } };
    const { oldest, latest } = this.#bounds(p);
    const cursor = p.get('cursor');
    const after = cursor ? decodeCursor(cursor, 'reply') : -1;
    if (after === null) throw new SlackAnswer('invalid_cursor');
    const replies: SlackObject[] = [];
    let j = after + 1;
    for (; j < c.repliesPerThread && replies.length < limit; j++) {
      const micros = this.data.replyMicros(c, i, j);
      if (micros <= oldest || micros >= latest) continue;
      replies.push(replyMessage(this.data, c, i, j));
    }
    const hasMore = j < c.repliesPerThread && this.data.replyMicros(c, i, j) < latest;
    return {
      messages: [root, ...replies],
      has_more: hasMore,
      response_metadata: { next_cursor: hasMore ? encodeCursor('reply', j - 1) : '' },
    };
  }

  #file(req: Request, url: URL): Response {
    this.stats.fileRequests++;
    const m = /^\/files-pri\/([A-Z0-9]+)-(F[0-9]+)\/(?:download\/)?[^/]+$/.exec(url.pathname);
    const found = m && m[1] === this.data.teamId ? this.data.fileById(m[2]!) : null;
    if (bearer(req) !== this.token) {
      this.stats.fileUnauthorized++;
      // Slack answers an unauthenticated file URL with its sign-in page, not with a 401.
      return new Response('<!DOCTYPE html><html><body>Sign in to Slack</body></html>', {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      });
    }
    if (!found) return new Response('not found', { status: 404 });
    return new Response(fileBytes(this.data, found.file), {
      headers: { 'content-type': found.file.mimetype, 'content-length': String(found.file.size) },
    });
  }
}

async function readParams(req: Request, url: URL): Promise<URLSearchParams> {
  const params = new URLSearchParams(url.search);
  if (req.method === 'POST') {
    const type = req.headers.get('content-type') ?? '';
    const text = await req.text();
    if (type.includes('application/json')) {
      try {
        for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>))
          params.set(k, String(v));
      } catch {
        // An unreadable body has no parameters.
      }
    } else {
      for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
    }
  }
  return params;
}

function bearer(req: Request): string | null {
  const h = req.headers.get('authorization');
  return h?.startsWith('Bearer ') ? h.slice(7) : null;
}

function encodeCursor(kind: string, value: number): string {
  return btoa(`${kind}:${value}`);
}

function decodeCursor(cursor: string, kind: string): number | null {
  try {
    const [k, v] = atob(cursor).split(':');
    const n = Number(v);
    return k === kind && Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function page<T>(all: T[], p: URLSearchParams, def: number, max: number): { items: T[]; next: string } {
  const limit = Math.max(1, Math.min(max, Number(p.get('limit') ?? def) || def));
  const cursor = p.get('cursor');
  const start = cursor ? (decodeCursor(cursor, 'offset') ?? 0) : 0;
  const items = all.slice(start, start + limit);
  return { items, next: start + limit < all.length ? encodeCursor('offset', start + limit) : '' };
}
