import {
  AuthError,
  type BudgetGrant,
  CancelledError,
  isSyncError,
  NotFoundError,
  PermanentError,
  type RateBudget,
  RateLimitedError,
  type SyncError,
  TransientError,
  tokenIdentity,
} from '@omni/sync-core';
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import type { SlackAppTier, SlackPluginOptions } from './slack-plugin-options.ts';
import { methodPerMinute, type SlackMethod } from './slack-tiers.ts';

/** What one client counted; read by tests, benchmarks and job reports. */
export interface SlackRequestStats {
  /** Answers received from the Web API (every status). */
  requests: number;
  /** 429 answers, each turned into a `RateLimitedError`. */
  status429: number;
  /** Requests per method. */
  byMethod: Record<string, number>;
}

/** Who the token is, from `auth.test` (and the `x-oauth-scopes` header). */
export interface SlackAuth {
  teamId: string;
  team: string;
  url: string;
  userId: string;
  user: string;
  botId: string | null;
  isEnterpriseInstall: boolean;
  /** Granted scopes; `null` when Slack did not say (then every call is tried). */
  scopes: string[] | null;
}

/** Slack error codes that mean the token is not (or no longer) good. */
const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'team_access_not_granted',
]);
/** Slack error codes worth retrying. */
const TRANSIENT_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** The budget identity of a Slack workspace: Slack's limits are per method per workspace (and app). */
export function workspaceIdentity(teamId: string): string {
  return `slack:team:${teamId}`;
}

/**
 * One Slack token's view of the Web API: `@slack/web-api` underneath with its own retries off
 * (`retryConfig: { retries: 0 }`) and 429s rejected (`rejectRateLimitedCalls`) so the engine sees,
 * counts and waits out every refusal; every failure translated into sync-core's error hierarchy.
 * Each call first takes a slot of the engine's shared {@link RateBudget} (fleet-wide): identity
 * the workspace (`slack:team:<id>`), bucket `method:<name>`, the method's tier per minute counted
 * from each answer; a 429 pauses that method of the workspace for every process (`Retry-After`).
 */
export class SlackApiClient {
  readonly web: WebClient;
  readonly token: string;
  readonly stats: SlackRequestStats = { requests: 0, status429: 0, byMethod: {} };
  readonly #options: SlackPluginOptions;
  readonly #budget: RateBudget;
  #auth: Promise<SlackAuth> | null = null;

  constructor(token: string, options: SlackPluginOptions, budget: RateBudget) {
    this.token = token;
    this.#options = options;
    this.#budget = budget;
    this.web = new WebClient(token, {
      slackApiUrl: options.apiUrl,
      logLevel: LogLevel.ERROR,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.requestTimeoutMs,
      fetch: (url, init) => this.#send(url, init),
    });
  }

  async #send(url: string | URL | Request, init?: RequestInit): Promise<Response> {
    const res = await fetch(url, init);
    this.stats.requests++;
    if (res.status !== 429) return res;
    this.stats.status429++;
    if (res.headers.get('retry-after') !== null) return res;
    // Without Retry-After the SDK throws an untyped error: the fallback wait becomes the header.
    const headers = new Headers(res.headers);
    headers.set('retry-after', String(Math.ceil(this.#options.unknownRetryAfterMs / 1000)));
    return new Response(res.body, { status: 429, statusText: res.statusText, headers });
  }

  /** `auth.test`, once per client (who the token is, its workspace and scopes). */
  auth(signal?: AbortSignal): Promise<SlackAuth> {
    this.#auth ??= this.#call<Record<string, unknown>>(
      'auth.test',
      {},
      tokenIdentity('slack', this.token),
      'internal',
      signal,
    )
      .then((r) => ({
        teamId: String(r.team_id ?? ''),
        team: String(r.team ?? ''),
        url: String(r.url ?? ''),
        userId: String(r.user_id ?? ''),
        user: String(r.user ?? ''),
        botId: typeof r.bot_id === 'string' ? r.bot_id : null,
        isEnterpriseInstall: r.is_enterprise_install === true,
        scopes: scopesOf(r),
      }))
      .catch((error: unknown) => {
        this.#auth = null;
        throw error;
      });
    return this.#auth;
  }

  /**
   * Calls a Web API method, paced in the window of (workspace, method) for the app's tier.
   * Resolves with the `ok: true` body; rejects with a sync-core error.
   */
  async call<T>(
    method: SlackMethod,
    args: Record<string, unknown>,
    appTier: SlackAppTier,
    signal?: AbortSignal,
  ): Promise<T> {
    const auth = await this.auth(signal);
    return this.#call<T>(method, args, workspaceIdentity(auth.teamId), appTier, signal);
  }

  async #call<T>(
    method: SlackMethod,
    args: Record<string, unknown>,
    identity: string,
    appTier: SlackAppTier,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const bucket = `method:${method}`;
    // A 429 is per method per workspace: the pause is that method's, shared by every process.
    const paused = `${identity}:${bucket}`;
    let grant: BudgetGrant;
    try {
      grant = await this.#budget.take(
        { identity, bucket },
        {
          limit: methodPerMinute(method, appTier),
          windowMs: this.#options.tierWindowMs + this.#options.pacingMarginMs,
          countFrom: 'finish',
          holdMs: this.#options.requestTimeoutMs + 5000,
        },
        { ...(signal ? { signal } : {}), pauses: [paused] },
      );
    } catch (error) {
      if (isSyncError(error)) throw error;
      throw new CancelledError(`cancelled while waiting to call ${method}`, { cause: error });
    }
    this.stats.byMethod[method] = (this.stats.byMethod[method] ?? 0) + 1;
    let outcome: 'answered' | 'unanswered' = 'unanswered';
    try {
      const call = this.web.apiCall(method, args) as Promise<T>;
      const result = await (signal ? raceAbort(call, signal) : call);
      outcome = 'answered';
      return result;
    } catch (error) {
      const out = translate(error, method, signal, this.#options.unknownRetryAfterMs);
      if (!(out instanceof TransientError) && !(out instanceof CancelledError)) outcome = 'answered';
      if (out instanceof RateLimitedError && out.retryAfterMs) {
        await this.#budget
          .pause(paused, { ms: out.retryAfterMs, reason: `Slack 429 on ${method}` })
          .catch(() => {});
      }
      throw out;
    } finally {
      await grant.release(outcome).catch(() => {});
    }
  }
}

function scopesOf(result: Record<string, unknown>): string[] | null {
  const meta = result.response_metadata as { scopes?: unknown } | undefined;
  return Array.isArray(meta?.scopes) ? meta.scopes.filter((s): s is string => typeof s === 'string') : null;
}

function raceAbort<T>(call: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    call.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Turns whatever `@slack/web-api` or fetch threw into a sync-core error. */
export function translate(
  error: unknown,
  method: string,
  signal: AbortSignal | undefined,
  unknownRetryAfterMs: number,
): SyncError {
  if (error instanceof WebAPIRateLimitedError) {
    return new RateLimitedError(`Slack rate limit on ${method}`, {
      retryAfterMs: error.retryAfter > 0 ? error.retryAfter * 1000 : unknownRetryAfterMs,
      scope: 'route',
      details: { method, retryAfterSeconds: error.retryAfter },
    });
  }
  if (signal?.aborted) return new CancelledError(`cancelled during ${method}`, { cause: error });
  if (error instanceof WebAPIPlatformError) {
    const code = error.data.error;
    const details: Record<string, unknown> = { method, slackError: code };
    if (!/^[a-z0-9_]+$/.test(code)) {
      // The SDK puts an unparsable body (a truncated answer) where the error code goes.
      return new TransientError(`${method}: truncated or invalid JSON`, {
        cause: error,
        details: { method },
      });
    }
    if (code === 'ratelimited') {
      return new RateLimitedError(`Slack rate limit on ${method}`, {
        retryAfterMs: (error.data.response_metadata?.retryAfter ?? 0) * 1000 || unknownRetryAfterMs,
        scope: 'route',
        details,
      });
    }
    if (AUTH_ERRORS.has(code))
      return new AuthError(`Slack refused the token (${code})`, { cause: error, details });
    if (TRANSIENT_ERRORS.has(code))
      return new TransientError(`${method}: ${code}`, { cause: error, details });
    if (code === 'missing_scope') {
      const needed = (error.data as { needed?: unknown }).needed;
      details.needed = typeof needed === 'string' ? needed : null;
      return new PermanentError(`${method}: missing scope ${details.needed ?? '(not named)'}`, {
        cause: error,
        details,
      });
    }
    if (code === 'channel_not_found' || code === 'thread_not_found' || code === 'user_not_found') {
      return new NotFoundError(`${method}: ${code}`, { cause: error, details });
    }
    return new PermanentError(`${method}: ${code}`, { cause: error, details });
  }
  if (error instanceof WebAPIHTTPError) {
    const details = { method, status: error.statusCode };
    return error.statusCode >= 500
      ? new TransientError(`${method}: HTTP ${error.statusCode}`, {
          status: error.statusCode,
          cause: error,
          details,
        })
      : new PermanentError(`${method}: HTTP ${error.statusCode}`, {
          status: error.statusCode,
          cause: error,
          details,
        });
  }
  if (error instanceof WebAPIRequestError) {
    const name = error.original?.name;
    const reason = name === 'AbortError' || name === 'TimeoutError' ? 'timed out' : 'network failure';
    return new TransientError(`${method}: ${reason}`, { cause: error, details: { method } });
  }
  return new TransientError(`${method}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
    details: { method },
  });
}
