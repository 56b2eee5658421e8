import {
  headerSafe,
  NASTY_STRINGS,
  queryString,
  randomJson,
  rangeHeader,
  safeEncode,
  syncishBody,
} from '../lib/fuzz-inputs.ts';
import type { Scenario } from '../lib/scenario.ts';
import { check } from '../lib/wait.ts';
import { SyncWorld } from '../lib/world.ts';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

const ROUTES: { method: Method; path: string }[] = [
  { method: 'GET', path: '/api/v2/health' },
  { method: 'POST', path: '/api/v2/instances' },
  { method: 'GET', path: '/api/v2/instances' },
  { method: 'GET', path: '/api/v2/instances/:id' },
  { method: 'PATCH', path: '/api/v2/instances/:id' },
  { method: 'DELETE', path: '/api/v2/instances/:id' },
  { method: 'POST', path: '/api/v2/instances/:id/connect' },
  { method: 'POST', path: '/api/v2/instances/:id/disconnect' },
  { method: 'GET', path: '/api/v2/instances/:id/status' },
  { method: 'GET', path: '/api/v2/instances/:id/qr' },
  { method: 'POST', path: '/api/v2/instances/:id/pair' },
  { method: 'POST', path: '/api/v2/instances/:id/logout' },
  { method: 'POST', path: '/api/v2/instances/:id/sync' },
  { method: 'POST', path: '/api/v2/instances/:id/sync/profile' },
  { method: 'GET', path: '/api/v2/instances/:id/sync' },
  { method: 'GET', path: '/api/v2/instances/:id/sync/:jobId' },
  { method: 'POST', path: '/api/v2/instances/:id/sync/:jobId/cancel' },
  { method: 'POST', path: '/api/v2/instances/:id/sync/:jobId/resume' },
  { method: 'GET', path: '/api/v2/instances/:id/messages' },
  { method: 'GET', path: '/api/v2/instances/:id/contacts' },
  { method: 'GET', path: '/api/v2/instances/:id/contacts/:itemId' },
  { method: 'GET', path: '/api/v2/instances/:id/groups' },
  { method: 'GET', path: '/api/v2/instances/:id/groups/:itemId' },
  { method: 'GET', path: '/api/v2/settings' },
  { method: 'PATCH', path: '/api/v2/settings' },
  { method: 'GET', path: '/api/v2/media/:id/2026-01/file.jpg' },
  { method: 'HEAD', path: '/api/v2/media/:id/2026-01/file.jpg' },
  { method: 'GET', path: '/media/:id/2026-01/file.jpg' },
  { method: 'PUT', path: '/api/v2/instances/:id' },
  { method: 'OPTIONS', path: '/api/v2/instances' },
  { method: 'GET', path: '/api/v2/nope' },
  { method: 'GET', path: '/api/v2/ready' },
  { method: 'POST', path: '/api/v2/auth/validate' },
  { method: 'GET', path: '/api/v2/chats' },
  { method: 'GET', path: '/api/v2/chats/:itemId' },
  { method: 'GET', path: '/api/v2/chats/:itemId/messages' },
  { method: 'GET', path: '/api/v2/chats/:itemId/participants' },
  { method: 'GET', path: '/api/v2/messages/:itemId' },
  { method: 'GET', path: '/api/v2/settings/:key' },
  { method: 'PUT', path: '/api/v2/settings/:key' },
  { method: 'GET', path: '/api/v2/instances/:id/coverage' },
  { method: 'POST', path: '/api/v2/instances/:id/restart' },
  { method: 'POST', path: '/api/v2/instances/:id/resync' },
  { method: 'DELETE', path: '/api/v2/instances/:id' },
];

const SETTING_KEYS = [
  'media.storagePath',
  'sync.maxPendingJobsPerInstance',
  'sync.defaultDepth',
  'nope',
  'a%00b',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  '',
  ';;;',
  'application/json, text/html',
];

/**
 * A seeded fuzz of the HTTP API through `app.inject` (the app over the real Postgres and NATS):
 * every route with valid, unknown and malformed ids, plausible-but-wrong and random JSON bodies,
 * raw non-JSON bodies, odd content types, random query strings, Range headers, missing or wrong
 * keys. No answer may be a 5xx.
 */
export const apiFuzz: Scenario = {
  name: 'api-fuzz',
  timeoutMs: (c) => 60_000 + c.sizes.fuzzRequests * 20,
  async run({ config, cleanup, prng, log: log_ }) {
    const logLines: string[] = [];
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: config.natsUrl,
      appLog: (line) => logLines.push(line),
      fake: { data: { seed: 81, guilds: [{ name: 'Z', channels: [{ name: 'z', messageCount: 20 }] }] } },
    });
    const instance = await world.connectedInstance('fuzz');
    const { jobId } = await world.postSync(instance, { type: 'messages', depth: '7d' });
    // Stored messages whose text must never reach the log, whatever the requests do.
    const texts = Array.from({ length: 20 }, (_, i) => `private message ${i}: call +49 170 555 01${i}`);
    await world.db
      .insertInto('messages')
      .values(
        texts.map((text, i) => ({
          instance_id: instance,
          chat_external_id: '1098765432109876543',
          external_id: `fuzz-${i}`,
          sent_at: new Date(Date.UTC(2026, 0, 1, 0, i)),
          kind: 'text',
          text,
        })),
      )
      .execute();
    const ids = () =>
      prng.pick([instance, instance, jobId, crypto.randomUUID(), ...NASTY_STRINGS.map(safeEncode)]);
    const statuses = new Map<number, number>();
    const fiveXX: string[] = [];
    const total = config.sizes.fuzzRequests;
    for (let i = 0; i < total; i++) {
      const route = prng.pick(ROUTES);
      // The scenario's instance stays: deleting it would leave nothing to fuzz.
      const id = route.method === 'DELETE' ? crypto.randomUUID() : ids();
      const url =
        route.path
          .replace(':id', id)
          .replace(':jobId', ids())
          .replace(':itemId', ids())
          .replace(':key', prng.pick(SETTING_KEYS)) + queryString(prng);
      const headers: Record<string, string> = {};
      const keyRoll = prng.next();
      if (keyRoll < 0.9) headers['x-api-key'] = 'faults-key';
      else if (keyRoll < 0.95)
        headers['x-api-key'] = prng.pick(NASTY_STRINGS.filter((s) => headerSafe(s) === s));
      if (prng.next() < 0.3) headers.range = headerSafe(rangeHeader(prng));
      let payload: string | undefined;
      if (route.method !== 'GET' && route.method !== 'HEAD' && prng.next() < 0.9) {
        const roll = prng.next();
        payload =
          roll < 0.5
            ? JSON.stringify(syncishBody(prng))
            : roll < 0.8
              ? JSON.stringify(randomJson(prng))
              : prng.pick([
                  '{',
                  '{"type":',
                  'null',
                  '[1,2',
                  'type=messages',
                  '\u0000\u0001',
                  '{"a":'.repeat(500),
                  'x'.repeat(2_000_000),
                ]);
        headers['content-type'] = prng.next() < 0.75 ? 'application/json' : prng.pick(CONTENT_TYPES);
        if (headers['content-type'] === '') delete headers['content-type'];
      }
      let status: number;
      try {
        const res = await world.app.inject({
          method: route.method,
          url,
          headers,
          ...(payload !== undefined ? { payload } : {}),
        });
        status = res.statusCode;
        if (status >= 500)
          fiveXX.push(
            `${route.method} ${url.slice(0, 120)} [${(payload ?? '').slice(0, 60)}] → ${status} ${res.body.slice(0, 160)}`,
          );
      } catch (error) {
        status = 0;
        fiveXX.push(`${route.method} ${url.slice(0, 120)} → threw ${(error as Error).message}`);
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const histogram = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    log_(`${total} requests: ${histogram}`);
    check(
      (statuses.get(200) ?? 0) + (statuses.get(202) ?? 0) > 0,
      'no request succeeded: the fuzz never reached a handler',
    );
    check(fiveXX.length === 0, `${fiveXX.length} answers ≥ 500, e.g. ${fiveXX.slice(0, 3).join(' | ')}`);
    // The log: no message text, no bot token, no API key, whatever the requests carried.
    const log = logLines.join('');
    const leaks = [world.fake.token, 'faults-key', ...texts].filter((secret) => log.includes(secret));
    check(logLines.length > 0, 'the API logged nothing: the log scan would prove nothing');
    check(
      leaks.length === 0,
      `the log carries ${leaks.length} secrets or message texts, e.g. ${leaks[0]?.slice(0, 40)}`,
    );
    const settings = await world.services.settings.get('media.storagePath');
    check(
      settings !== '/' && settings !== '/etc',
      `media.storagePath was changed over the API to ${settings}`,
    );
    log_(
      `log scan: ${logLines.length} lines, ${texts.length} message texts and the token checked, none found`,
    );
    return `${total} requests, 0 5xx, log clean (${histogram})`;
  },
};
