import { ApplicationFlags, PermissionFlagsBits } from 'discord-api-types/v10';
import { AttachmentSigner } from './attachment-signer.ts';
import { DiscordDataset, type FakeChat } from './discord-dataset.ts';
import { DEFAULT_FAKE_DISCORD_OPTIONS, type FakeDiscordOptions } from './fake-discord-options.ts';
import { buildRoutes, type FakeRoute, type RouteAnswer } from './fake-discord-routes.ts';
import { FakeDiscordStats } from './fake-discord-stats.ts';
import { faultAnswer } from './fault-answers.ts';
import { type FakeFault, FaultInjector } from './fault-injector.ts';
import { MessageGenerator } from './message-generator.ts';
import { type BucketVerdict, RateLimitBuckets } from './rate-limit-buckets.ts';

const API_PREFIX = /^\/api(?:\/v10)?(?=\/)/;

/** Resolved options of a running fake. */
export type ResolvedFakeDiscordOptions = Required<Omit<FakeDiscordOptions, 'data'>>;

/**
 * A local Discord REST v10 server: the routes a history sync needs, Discord's rate limits and
 * headers, signed expiring attachment URLs, counters, and fault injection.
 *
 * @example
 * const fake = await FakeDiscord.start({ data: { guilds: [{ name: 'g', channels: [{ name: 'general', messageCount: 500 }] }] } });
 * const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
 * // …
 * await fake.stop();
 */
export class FakeDiscord {
  readonly data: DiscordDataset;
  readonly messages: MessageGenerator;
  readonly options: ResolvedFakeDiscordOptions;
  readonly stats = new FakeDiscordStats();
  readonly faults = new FaultInjector();
  readonly #buckets = new RateLimitBuckets();
  readonly #signer: AttachmentSigner;
  readonly #routes: FakeRoute[];
  #server: ReturnType<typeof Bun.serve> | null = null;
  #clockOffsetMs = 0;
  #bannedUntil = 0;

  private constructor(options: FakeDiscordOptions) {
    const flags = options.applicationFlags ?? DEFAULT_FAKE_DISCORD_OPTIONS.applicationFlags;
    const membersIntent =
      options.membersIntent ??
      (flags & (ApplicationFlags.GatewayGuildMembers | ApplicationFlags.GatewayGuildMembersLimited)) !== 0;
    this.options = {
      ...DEFAULT_FAKE_DISCORD_OPTIONS,
      ...stripUndefined(options),
      applicationFlags: flags,
      membersIntent,
    };
    this.data = options.data instanceof DiscordDataset ? options.data : new DiscordDataset(options.data);
    this.messages = new MessageGenerator(this.data);
    this.#signer = new AttachmentSigner(`secret-${this.data.seed}`, this.options.attachmentTtlMs);
    this.#routes = buildRoutes(this);
  }

  /** Starts a fake on a local port. */
  static async start(options: FakeDiscordOptions): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options);
    fake.#server = Bun.serve({
      port: fake.options.port,
      hostname: '127.0.0.1',
      fetch: (req) => fake.#handle(req),
    });
    return fake;
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    if (!this.#server) throw new Error('fake Discord not started');
    return `http://127.0.0.1:${this.#server.port}`;
  }

  /** What discord.js's `api` option (and `DISCORD_API_URL`) should be: `http://127.0.0.1:PORT/api`. */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  /** The accepted bot token. */
  get token(): string {
    return this.options.token;
  }

  /** Every accepted bot token: `token` and `extraTokens`. */
  get tokens(): string[] {
    return [this.options.token, ...this.options.extraTokens];
  }

  #tokenOf(authorization: string | null): string | null {
    if (!authorization?.startsWith('Bot ')) return null;
    const token = authorization.slice(4);
    return token === this.options.token || this.options.extraTokens.includes(token) ? token : null;
  }

  /** The fake's clock, UTC ms (real time plus {@link FakeDiscord.advanceClock}). */
  now(): number {
    return Date.now() + this.#clockOffsetMs;
  }

  /** Moves the clock used for attachment expiry forward. */
  advanceClock(ms: number): void {
    this.#clockOffsetMs += ms;
  }

  /** Every attachment URL handed out so far answers 404 until refreshed. */
  expireAttachmentUrls(): void {
    this.#signer.revokeAll();
  }

  /**
   * Bans the client's IP the way Cloudflare does, for `ms` from now: every API request of every
   * token is answered with Cloudflare's HTML 429 (no rate-limit headers, no Retry-After), counted
   * in `stats.banned429`. CDN downloads are not affected.
   */
  banFor(ms: number): void {
    this.#bannedUntil = Date.now() + ms;
  }

  /** Injects a fault (see {@link FakeFault}). */
  inject(fault: FakeFault): void {
    this.faults.add(fault);
  }

  /** Signs an attachment path with the current clock. */
  signAttachment(path: string): string {
    return this.#signer.sign(this.url, path, this.now());
  }

  /** Whether a CDN URL is currently valid. */
  attachmentUrlState(url: URL): 'valid' | 'expired' | 'invalid' {
    return this.#signer.check(url, this.now());
  }

  /** Whether message objects carry content (Message Content intent granted). */
  get messageContent(): boolean {
    const f = this.options.applicationFlags;
    return (
      (f & (ApplicationFlags.GatewayMessageContent | ApplicationFlags.GatewayMessageContentLimited)) !== 0
    );
  }

  /** Whether the bot may list private archived threads. */
  get canManageThreads(): boolean {
    return (this.options.botPermissions & PermissionFlagsBits.ManageThreads) !== 0n;
  }

  /** Ids of `chat`'s messages in [sinceMs, untilMs), oldest first: the set a sync must store. */
  expectedIds(chat: FakeChat, sinceMs: number | null, untilMs: number): string[] {
    return this.messages.idsBetween(chat, sinceMs, untilMs);
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    await this.#server?.stop(true);
    this.#server = null;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === 'GET' && url.pathname.startsWith('/attachments/')) return this.#cdn(url);
    const prefix = API_PREFIX.exec(url.pathname);
    const path = prefix ? url.pathname.slice(prefix[0].length) : url.pathname;
    let matched: { route: FakeRoute; params: Record<string, string> } | null = null;
    for (const route of this.#routes) {
      if (route.method !== req.method) continue;
      const m = route.regex.exec(path);
      if (m) {
        matched = { route, params: m.groups ?? {} };
        break;
      }
    }
    const routeName = matched ? `${req.method} ${matched.route.template}` : `${req.method} ${path}`;
    if (this.options.latencyMs > 0) await Bun.sleep(this.options.latencyMs);
    const fault = this.faults.next(path);
    if (fault) {
      const early = faultAnswer(fault);
      if (early) return this.#finish(routeName, early);
      if (fault.kind === 'slow') await Bun.sleep(fault.delayMs ?? 1000);
    }
    if (prefix && Date.now() < this.#bannedUntil) {
      this.stats.banned429++;
      return this.#finish(routeName, faultAnswer({ kind: '429-html' }) as Response);
    }
    const token = this.#tokenOf(req.headers.get('authorization'));
    if (token === null) {
      return this.#finish(routeName, json(401, { message: '401: Unauthorized', code: 0 }));
    }
    if (!prefix || !matched)
      return this.#finish(routeName, json(404, { message: '404: Not Found', code: 0 }));
    const now = Date.now();
    const at = performance.timeOrigin + performance.now();
    this.stats.maxGlobalWindowRequests = Math.max(
      this.stats.maxGlobalWindowRequests,
      this.stats.observe(`global:${token}`, at, this.options.globalRateLimit.windowMs),
    );
    const global = this.#buckets.take(`global:${token}`, this.options.globalRateLimit, now);
    if (!global.allowed) {
      this.stats.limit429++;
      this.stats.global429++;
      const retry = global.resetAfterMs / 1000;
      return this.#finish(
        routeName,
        json(
          429,
          { message: 'You are being rate limited.', retry_after: retry, global: true },
          {
            'Retry-After': String(Math.ceil(retry)),
            'X-RateLimit-Global': 'true',
            'X-RateLimit-Scope': 'global',
          },
        ),
      );
    }
    const { route, params } = matched;
    const isMessages = route.bucket === 'messages';
    const key = isMessages
      ? `${token}:messages:${params.channel}`
      : `${token}:${route.template}:${params.guild ?? params.channel ?? ''}`;
    if (isMessages) {
      this.stats.maxRouteWindowRequests = Math.max(
        this.stats.maxRouteWindowRequests,
        this.stats.observe(key, at, this.options.messageRateLimit.windowMs),
      );
    }
    const verdict = this.#buckets.take(
      key,
      isMessages ? this.options.messageRateLimit : this.options.routeRateLimit,
      now,
    );
    const headers = this.#rateLimitHeaders(route, verdict, isMessages);
    if (!verdict.allowed) {
      this.stats.limit429++;
      const retry = verdict.resetAfterMs / 1000;
      return this.#finish(
        routeName,
        json(
          429,
          { message: 'You are being rate limited.', retry_after: retry, global: false },
          { ...headers, 'Retry-After': String(Math.ceil(retry)), 'X-RateLimit-Scope': 'user' },
        ),
      );
    }
    let answer: RouteAnswer;
    try {
      const body = req.method === 'POST' ? await req.json().catch(() => null) : null;
      answer = await route.handle({ params, query: url.searchParams, body });
    } catch (error) {
      answer = { status: 500, body: { message: String(error), code: 0 } };
    }
    const text = JSON.stringify(answer.body);
    const out = fault?.kind === 'truncated' ? text.slice(0, Math.floor(text.length / 2)) : text;
    return this.#finish(
      routeName,
      new Response(out, {
        status: answer.status,
        headers: { 'Content-Type': 'application/json', ...headers },
      }),
    );
  }

  #rateLimitHeaders(route: FakeRoute, v: BucketVerdict, isMessages: boolean): Record<string, string> {
    const advertised = isMessages ? this.options.advertisedMessageLimit : null;
    const limit = advertised ?? v.limit;
    const remaining = advertised === null ? v.remaining : Math.max(0, advertised - (v.limit - v.remaining));
    return {
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': (v.resetAtMs / 1000).toFixed(3),
      'X-RateLimit-Reset-After': (v.resetAfterMs / 1000).toFixed(3),
      'X-RateLimit-Bucket': route.hash,
    };
  }

  #finish(route: string, res: Response): Response {
    this.stats.record(route, res.status);
    return res;
  }

  #cdn(url: URL): Response {
    this.stats.cdnRequests++;
    const parts = url.pathname.split('/');
    const chat = this.data.chat(parts[2] ?? '');
    const n = chat ? this.messages.indexOf(chat, parts[3] ?? '') : -1;
    const info = chat && n >= 0 ? this.messages.attachmentAt(chat, n) : null;
    if (!chat || !info || info.filename !== decodeURIComponent(parts[4] ?? '')) {
      return new Response('Not Found', { status: 404 });
    }
    if (this.#signer.check(url, this.now()) !== 'valid') {
      this.stats.cdnExpired++;
      return new Response('This content is no longer available.', { status: 404 });
    }
    const bytes = this.messages.attachmentBytes(info);
    return new Response(bytes, {
      status: 200,
      headers: { 'Content-Type': info.contentType, 'Content-Length': String(bytes.length) },
    });
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
