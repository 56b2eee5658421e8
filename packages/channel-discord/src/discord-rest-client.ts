import {
  DiscordAPIError,
  HTTPError,
  type RateLimitData,
  RateLimitError,
  REST,
  RESTEvents,
} from '@discordjs/rest';
import {
  AuthError,
  type BudgetGrant,
  type BudgetRule,
  CancelledError,
  type GrantOutcome,
  NotFoundError,
  PermanentError,
  type RateBudget,
  type SyncError,
  TransientError,
  tokenIdentity,
} from '@omni/sync-core';
import type { DiscordPluginOptions } from './discord-plugin-options.ts';
import { isCloudflareBan, type RateLimitAnswer, toRateLimitedError } from './rate-limit-answer.ts';

/** A route of plain segments: words, snowflakes, `@me`. */
const SAFE_ROUTE = /^(?:\/(?:@me|[A-Za-z0-9_-]+))+$/;

/** What one client counted; read by tests, benchmarks and job reports. */
export interface DiscordRequestStats {
  /** Answers received from the API (every status). */
  requests: number;
  /** 429 answers, each turned into a `RateLimitedError`. */
  status429: number;
  /** Of those, Cloudflare HTML pages. */
  cloudflare429: number;
  /** Times discord.js waited on its own because headers said a bucket was empty. */
  libraryWaits: number;
  /** Attachment URLs refreshed after the CDN refused an expired one. */
  urlRefreshes: number;
}

/** Options of one API call. */
export interface DiscordCallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** Pace the call in this channel's history window (message routes only). */
  historyChannelId?: string;
  signal?: AbortSignal;
}

/**
 * One bot token's view of the REST API: discord.js underneath, our own pacing on top, and every
 * failure translated into the sync-core error hierarchy. The pacing draws from the engine's
 * shared {@link RateBudget} under the token's identity (`tokenIdentity('discord', token)`), so
 * every process on the token shares it: bucket `channel:<id>` (history, 5 per 5 s) and `global`
 * (50 per s), both counted from the moment each answer was in, whatever the latency. The global
 * take also waits on the token's pause and on the host's IP pause (a Cloudflare ban), and may be
 * the ban's one probe. A 429 never gets retried inside discord.js: `rejectOnRateLimit` turns it
 * into a `RateLimitedError` so the engine pauses the token and counts it.
 */
export class DiscordRestClient {
  readonly rest: REST;
  readonly stats: DiscordRequestStats = {
    requests: 0,
    status429: 0,
    cloudflare429: 0,
    libraryWaits: 0,
    urlRefreshes: 0,
  };
  /** The token's budget identity (a hash: the token itself is never stored). */
  readonly identity: string;
  readonly #options: DiscordPluginOptions;
  readonly #budget: RateBudget;
  readonly #globalRule: BudgetRule;
  readonly #channelRule: BudgetRule;
  readonly #answers = new Map<string, RateLimitAnswer[]>();
  /** Grants of requests in flight by URL, released as soon as their answer's headers are in. */
  readonly #inFlight = new Map<string, BudgetGrant[][]>();

  constructor(token: string, options: DiscordPluginOptions, budget: RateBudget) {
    this.#options = options;
    this.#budget = budget;
    this.identity = tokenIdentity('discord', token);
    const holdMs = options.requestTimeoutMs + 5000;
    this.#globalRule = {
      limit: options.globalRequestsPerWindow,
      windowMs: options.globalWindowMs + options.pacingMarginMs,
      countFrom: 'finish',
      holdMs,
    };
    this.#channelRule = {
      limit: options.historyRequestsPerWindow,
      windowMs: options.historyWindowMs + options.pacingMarginMs,
      countFrom: 'finish',
      holdMs,
    };
    this.rest = new REST({
      api: options.api,
      version: '10',
      retries: 0,
      timeout: options.requestTimeoutMs,
      globalRequestsPerSecond: Number.MAX_SAFE_INTEGER,
      // Our windows already count from the moment an answer was in; discord.js's extra 50 ms per
      // header-announced reset would only stretch every history window.
      offset: 0,
      makeRequest: (url, init) => this.#send(url, init as RequestInit),
      rejectOnRateLimit: (data) => this.#isAnswered429(data),
    }).setToken(token);
    // Answers are counted in `#send`: a `RESTEvents.Response` listener would make discord.js
    // `clone()` every response (its body teed and buffered a second time) just to read the status.
    this.rest.on(RESTEvents.RateLimited, () => {
      this.stats.libraryWaits++;
    });
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    const grants = this.#inFlight.get(url)?.shift() ?? [];
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (error) {
      await this.#release(grants, 'unanswered');
      throw error;
    }
    this.stats.requests++;
    if (res.status !== 429) {
      // The server has seen the request by now: its window slots count from here, not from when
      // discord.js and we are done parsing the body.
      await this.#release(grants, 'answered');
      return res;
    }
    this.stats.status429++;
    const body = await res.text();
    const contentType = res.headers.get('content-type');
    if (isCloudflareBan(contentType, res.headers.get('retry-after'), body)) {
      // Every token of this host is refused: pause the IP for every process before anyone else
      // sends, then let one probe at a time find out when it is over.
      const probe = grants.find((g) => g.probe !== null);
      await this.#budget.pause(this.#options.egressIdentity, {
        probe: { firstMs: this.#options.cloudflareProbeMs, maxMs: this.#options.cloudflareProbeMaxMs },
        reason: 'Cloudflare HTML 429 from Discord',
        ...(probe ? { holder: probe.holder } : {}),
      });
      await this.#release(grants, 'refused');
    } else {
      await this.#release(grants, 'answered');
    }
    const answer: RateLimitAnswer = {
      url,
      contentType,
      retryAfterHeader: res.headers.get('retry-after'),
      global: res.headers.has('x-ratelimit-global'),
      scopeHeader: res.headers.get('x-ratelimit-scope'),
      body,
    };
    const queue = this.#answers.get(url) ?? [];
    queue.push(answer);
    this.#answers.set(url, queue);
    return new Response(body, { status: 429, statusText: res.statusText, headers: res.headers });
  }

  /** True for a real 429 answer (reject it); false for discord.js's own pre-emptive wait (let it wait). */
  #isAnswered429(data: RateLimitData): boolean {
    return (this.#answers.get(data.url)?.length ?? 0) > 0;
  }

  #takeAnswer(url: string): RateLimitAnswer | undefined {
    const queue = this.#answers.get(url);
    const answer = queue?.shift();
    if (queue && queue.length === 0) this.#answers.delete(url);
    return answer;
  }

  /**
   * Ends grants (idempotent). A release that fails (database unreachable) leaves its slot held
   * until the rule's `holdMs`: slower, never faster than the limit.
   */
  async #release(grants: readonly (BudgetGrant | null)[], outcome: GrantOutcome): Promise<void> {
    await Promise.allSettled(grants.map((g) => g?.release(outcome)));
  }

  /** `GET route`, paced, errors translated. */
  get<T>(route: `/${string}`, options: DiscordCallOptions = {}): Promise<T> {
    return this.#call<T>('GET', route, undefined, options);
  }

  /** `POST route` with a JSON body, paced, errors translated. */
  post<T>(route: `/${string}`, body: unknown, options: DiscordCallOptions = {}): Promise<T> {
    return this.#call<T>('POST', route, body, options);
  }

  async #call<T>(
    method: 'GET' | 'POST',
    route: `/${string}`,
    body: unknown,
    options: DiscordCallOptions,
  ): Promise<T> {
    // Ids in a route come from requests and from platform answers: a segment that is not a plain
    // word or id (`..`, `#`, `?`, `%2F`, a space) could point the bot token at another route.
    if (!SAFE_ROUTE.test(route)) {
      throw new PermanentError(
        `refusing to call a malformed Discord route: ${JSON.stringify(route).slice(0, 120)}`,
        {
          details: { route },
        },
      );
    }
    const signal = options.signal ? { signal: options.signal } : {};
    const channel = options.historyChannelId
      ? await this.#budget.take(
          { identity: this.identity, bucket: `channel:${options.historyChannelId}` },
          this.#channelRule,
          { ...signal, pauses: [] },
        )
      : null;
    let global: BudgetGrant | null = null;
    let url: string | null = null;
    let grants: BudgetGrant[] | null = null;
    // discord.js adds an `abort` listener to the request's signal for every request and never
    // removes it: handed the job's signal, which lives as long as the job, each request's closure
    // (URL, headers, route) would stay reachable until the job ends — memory growing with every
    // page. It gets a signal of its own per call instead, following the caller's while the call lasts.
    const scoped = scopedSignal(options.signal);
    try {
      global = await this.#budget.take({ identity: this.identity, bucket: 'global' }, this.#globalRule, {
        ...signal,
        pauses: [this.identity, this.#options.egressIdentity],
      });
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
      const request = { query, signal: scoped.signal, ...(method === 'POST' ? { body } : {}) };
      const search = query.toString();
      url = `${this.#options.api}/v10${route}${search ? `?${search}` : ''}`;
      grants = channel ? [global, channel] : [global];
      const queue = this.#inFlight.get(url) ?? [];
      queue.push(grants);
      this.#inFlight.set(url, queue);
      return (
        method === 'GET' ? await this.rest.get(route, request) : await this.rest.post(route, request)
      ) as T;
    } catch (error) {
      throw this.#translate(error, `${method} ${route}`, options.signal);
    } finally {
      scoped.dispose();
      const queue = url ? this.#inFlight.get(url) : undefined;
      if (url && queue) {
        const i = grants ? queue.indexOf(grants) : -1;
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.#inFlight.delete(url);
      }
      // Released already when an answer came; this covers a call that never reached `#send`.
      await this.#release([global, channel], 'unanswered');
    }
  }

  /** Turns whatever discord.js or fetch threw into a sync-core error. */
  #translate(error: unknown, route: string, signal: AbortSignal | undefined): SyncError {
    if (error instanceof RateLimitError) {
      const answer = this.#takeAnswer(error.url);
      const out = toRateLimitedError(answer, this.#options, error.retryAfter, route);
      if (out.scope === 'ip') this.stats.cloudflare429++;
      return out;
    }
    if (signal?.aborted) return new CancelledError(`cancelled during ${route}`, { cause: error });
    if (error instanceof DiscordAPIError) {
      const details = { route, discordCode: error.code, status: error.status };
      if (error.status === 401)
        return new AuthError(`Discord refused the bot token (${route})`, {
          status: 401,
          cause: error,
          details,
        });
      if (error.status === 404)
        return new NotFoundError(`${route}: ${error.message}`, { cause: error, details });
      return new PermanentError(`${route}: ${error.message}`, {
        status: error.status,
        cause: error,
        details,
      });
    }
    if (error instanceof HTTPError) {
      return new TransientError(`${route}: HTTP ${error.status}`, {
        status: error.status,
        cause: error,
        details: { route },
      });
    }
    const name = error instanceof Error ? error.name : 'Error';
    const reason =
      name === 'AbortError' || name === 'TimeoutError'
        ? 'timed out'
        : name === 'SyntaxError'
          ? 'truncated or invalid JSON'
          : 'network failure';
    return new TransientError(`${route}: ${reason}`, { cause: error, details: { route } });
  }
}

/**
 * A signal of its own that aborts (with the same reason) when `parent` does, until `dispose()`
 * detaches it from `parent`; `undefined` without a parent.
 */
function scopedSignal(parent: AbortSignal | undefined): { signal: AbortSignal | undefined; dispose(): void } {
  if (!parent) return { signal: undefined, dispose: () => {} };
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose: () => parent.removeEventListener('abort', onAbort) };
}
