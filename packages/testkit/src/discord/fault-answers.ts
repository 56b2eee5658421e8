import type { FakeFault } from './fault-injector.ts';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

/** The answer an injected fault sends instead of the real one; `null` for faults that alter the real one. */
export function faultAnswer(fault: FakeFault): Response | null {
  const retry = fault.retryAfterSeconds ?? 0.2;
  switch (fault.kind) {
    case '429-json':
      return json(
        429,
        { message: 'You are being rate limited.', retry_after: retry, global: false },
        {
          'Retry-After': String(Math.ceil(retry)),
          'X-RateLimit-Limit': '5',
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset-After': retry.toFixed(3),
          'X-RateLimit-Scope': 'shared',
        },
      );
    case '429-bare-json':
      return json(429, { message: 'You are being rate limited.', retry_after: retry, global: false });
    case '429-html':
      return new Response(CLOUDFLARE_429_HTML, {
        status: 429,
        headers: { 'Content-Type': 'text/html; charset=UTF-8' },
      });
    case '500':
      return json(500, { message: '500: Internal Server Error', code: 0 });
    case '502':
      return new Response('<html><body>502 Bad Gateway</body></html>', {
        status: 502,
        headers: { 'Content-Type': 'text/html' },
      });
    default:
      return null;
  }
}

/** Cloudflare's rate-limit page: HTML, no rate-limit headers, no Retry-After. */
const CLOUDFLARE_429_HTML = `<!DOCTYPE html>
<html><head><title>Access denied | discord.com used Cloudflare to restrict access</title></head>
<body><div id="cf-wrapper"><h1>Error 1015</h1><h2>You are being rate limited</h2>
<p>The owner of this website (discord.com) has banned you temporarily from accessing this website.</p>
</div></body></html>`;
