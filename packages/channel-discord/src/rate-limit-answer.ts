import { RateLimitedError, type RateLimitScope } from '@omni/sync-core';

/** A 429 as it came over the wire, captured before discord.js sees it. */
export interface RateLimitAnswer {
  url: string;
  contentType: string | null;
  /** `Retry-After` header, seconds. */
  retryAfterHeader: string | null;
  global: boolean;
  /** `X-RateLimit-Scope`: user | global | shared. */
  scopeHeader: string | null;
  body: string;
}

/** How to turn answers without a stated wait into cooldowns, ms. */
export interface RateLimitFallbacks {
  /** Wait until the first probe of a Cloudflare ban, ms (told as `retryAfterMs`). */
  cloudflareProbeMs: number;
  unknownRetryAfterMs: number;
}

/**
 * Whether a 429 is Cloudflare's HTML ban page rather than Discord's JSON answer: neither a JSON
 * body nor a `Retry-After` header.
 */
export function isCloudflareBan(
  contentType: string | null,
  retryAfterHeader: string | null,
  body: string,
): boolean {
  if (retryAfterHeader !== null) return false;
  if (!contentType?.includes('application/json')) return true;
  try {
    JSON.parse(body);
    return false;
  } catch {
    return true;
  }
}

/**
 * Turns a captured 429 into the engine's {@link RateLimitedError}: JSON `retry_after` (seconds,
 * fractional) first, then `Retry-After`; a Cloudflare HTML page (no JSON, no headers) is an
 * IP-wide ban, scope `ip` (the client has paused the host's IP in the shared budget; it is probed).
 */
export function toRateLimitedError(
  answer: RateLimitAnswer | undefined,
  fallbacks: RateLimitFallbacks,
  libraryRetryAfterMs: number,
  route: string,
): RateLimitedError {
  if (!answer) {
    return new RateLimitedError(`Discord rate limit on ${route}`, {
      retryAfterMs: libraryRetryAfterMs > 0 ? libraryRetryAfterMs : fallbacks.unknownRetryAfterMs,
      scope: 'route',
      details: { route },
    });
  }
  let parsed: { retry_after?: unknown; global?: unknown } | null = null;
  if (answer.contentType?.includes('application/json')) {
    try {
      parsed = JSON.parse(answer.body) as { retry_after?: unknown; global?: unknown };
    } catch {
      parsed = null;
    }
  }
  if (!parsed && answer.retryAfterHeader === null) {
    return new RateLimitedError(`Cloudflare blocked requests to Discord (HTML 429 on ${route})`, {
      retryAfterMs: fallbacks.cloudflareProbeMs,
      scope: 'ip',
      details: { route, cloudflare: true },
    });
  }
  const bodySeconds = typeof parsed?.retry_after === 'number' ? parsed.retry_after : null;
  const headerSeconds = answer.retryAfterHeader !== null ? Number(answer.retryAfterHeader) : null;
  const seconds = bodySeconds ?? (Number.isFinite(headerSeconds) ? headerSeconds : null);
  const global = answer.global || parsed?.global === true;
  const scope: RateLimitScope = global ? 'global' : answer.scopeHeader === 'shared' ? 'shared' : 'route';
  return new RateLimitedError(`Discord rate limit on ${route} (${scope})`, {
    retryAfterMs: seconds !== null && seconds > 0 ? Math.ceil(seconds * 1000) : fallbacks.unknownRetryAfterMs,
    scope,
    details: { route, global, bodyRetryAfter: bodySeconds, headerRetryAfter: answer.retryAfterHeader },
  });
}
