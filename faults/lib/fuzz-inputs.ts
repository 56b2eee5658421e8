import type { SeededPrng } from './prng.ts';

/** Strings that tend to break parsers, validators, SQL and path handling. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  "' OR 1=1 --",
  '"; DROP TABLE messages; --',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\uFFFF',
  '\uD800',
  '😀'.repeat(50),
  'a'.repeat(5000),
  '__proto__',
  'constructor',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '#{7*7}{{7*7}}',
  '<script>alert(1)</script>',
  '%',
  '%zz',
  '\\',
  '9'.repeat(40),
  'a\u0000b',
  'Bot tok\u0000en',
  'tok\nen',
  'tok\r\nX-Injected: 1',
  '../../users/@me#',
  '../../users/@me',
  '123/../../guilds',
  '15551230000@s.whatsapp.net',
  '1098765432109876543',
  '18446744073709551616',
];

/** Dates Postgres or JavaScript cannot hold, or that sit on their edges. */
export const EXTREME_DATES = [
  '2016-12-31T23:59:60Z',
  '2021-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '99999-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:00+25:00',
  '1970-01-01T00:00:00Z',
  '2026-13-01T00:00:00Z',
  'yesterday',
];

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Cursors that are not one the API handed out: malformed, of the wrong shape, or holding unexpected values. */
export const FORGED_CURSORS = [
  'x',
  '!!!',
  b64('just a string'),
  b64(['a']),
  b64([1, 2]),
  b64([null, null]),
  b64({ 0: 'a', 1: 'b' }),
  b64(['2026-13-45 25:61:00+00', ZERO_UUID]),
  b64(['2026-02-30 00:00:00+00', ZERO_UUID]),
  b64(['2026-01-01 00:00:00+00', 'not-a-uuid']),
  b64(['2026-01-01 00:00:00+00\u0000', ZERO_UUID]),
  b64(['x'.repeat(4000), ZERO_UUID]),
  b64(["' OR 1=1 --", ZERO_UUID]),
  b64(['0000-01-01 00:00:00+00', ZERO_UUID]),
  b64(['294277-01-01 00:00:00+00', ZERO_UUID]),
  b64([{ $gt: '' }, ZERO_UUID]),
  b64([Number.MAX_VALUE, ZERO_UUID]),
];

/** `encodeURIComponent`, with lone surrogates sent as their raw (invalid) UTF-8 escapes instead of throwing. */
export function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text.replaceAll(/[\uD800-\uDFFF]/g, '%ED%A0%80').replaceAll(/[^A-Za-z0-9%_.~-]/g, (c) => {
      try {
        return encodeURIComponent(c);
      } catch {
        return '%ED%A0%80';
      }
    });
  }
}

/** Only printable ASCII: what an HTTP header value may carry. */
export function headerSafe(text: string): string {
  return [...text].filter((c) => c >= ' ' && c <= '~').join('');
}

/** A random JSON value, nesting at most `depth`. */
export function randomJson(prng: SeededPrng, depth = 3): unknown {
  const kind = prng.int(0, depth > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return prng.pick([true, false]);
    case 2:
      return prng.pick([0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
    case 3:
    case 4:
      return prng.pick(NASTY_STRINGS);
    case 5:
      return Array.from({ length: prng.int(0, 4) }, () => randomJson(prng, depth - 1));
    default: {
      const out: Record<string, unknown> = {};
      const keys = [
        'type',
        'depth',
        'name',
        'channel',
        'token',
        'downloadMedia',
        'channelId',
        'since',
        'until',
        'cursor',
        'media.storagePath',
        'sync.maxPendingJobsPerInstance',
        '__proto__',
        'constructor',
        'x',
        'a\u0000b',
      ];
      for (let i = prng.int(0, 4); i > 0; i--) out[prng.pick(keys)] = randomJson(prng, depth - 1);
      return out;
    }
  }
}

/** A plausible-but-wrong body for the sync, instance and settings routes. */
export function syncishBody(prng: SeededPrng): unknown {
  const depths = ['7d', '30d', '90d', '1y', 'all', '0d', '-7d', '7D', '', 'forever', 7, null, '999999999d'];
  const types = ['messages', 'profile', 'contacts', 'groups', 'all', 'MESSAGES', '', 'media', 3, null];
  const body: Record<string, unknown> = {};
  if (prng.next() < 0.8) body.type = prng.pick(types);
  if (prng.next() < 0.7) body.depth = prng.pick(depths);
  if (prng.next() < 0.3) body.downloadMedia = prng.pick([true, false, 'yes', 1, null]);
  if (prng.next() < 0.3) body.channelId = prng.pick(NASTY_STRINGS);
  if (prng.next() < 0.3) body.name = prng.pick(NASTY_STRINGS);
  if (prng.next() < 0.3) body.channel = prng.pick(['discord', 'whatsapp-baileys', 'telegram', '', null]);
  if (prng.next() < 0.2) body.token = prng.pick(NASTY_STRINGS);
  if (prng.next() < 0.1) body['media.storagePath'] = prng.pick(['/', '/etc', '../..', 'a\u0000b']);
  if (prng.next() < 0.1) body['sync.maxPendingJobsPerInstance'] = prng.pick([0, -1, 1.5, 1e9, '20', null]);
  if (prng.next() < 0.2)
    body[prng.pick(['unknownField', 'isAdmin', 'a\u0000b', '__proto__'])] = prng.pick(NASTY_STRINGS);
  return body;
}

/** A random `Range` header value. */
export function rangeHeader(prng: SeededPrng): string {
  return prng.pick([
    'bytes=0-0',
    'bytes=0-',
    'bytes=-0',
    'bytes=-1',
    'bytes=1-0',
    'bytes=5000-6000',
    'bytes=999999999999999999999-',
    'bytes=-999999999999999999999',
    'bytes=0-1,2-3,4-5',
    `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',')}`,
    'bytes=a-b',
    'bytes=--1',
    'bytes 0-1',
    'items=0-1',
    'bytes=0-1;x',
    '',
    'bytes=\u0000-1',
    'bytes=1e3-2e3',
    'bytes=0x10-0x20',
    `bytes=${prng.int(-10, 2000)}-${prng.int(-10, 2000)}`,
  ]);
}

/** A random query string (leading `?` included when not empty). */
export function queryString(prng: SeededPrng): string {
  const keys = [
    'limit',
    'cursor',
    'before',
    'after',
    'chatId',
    'status',
    'type',
    'search',
    'since',
    'until',
    'api_key',
    'channel',
    'unknown',
    '__proto__',
    'limit[]',
    'a',
  ];
  const values = [
    ...NASTY_STRINGS,
    ...EXTREME_DATES,
    ...FORGED_CURSORS,
    '10',
    '1000000',
    '-5',
    '0',
    '1.5',
    'desc',
    'running',
  ];
  const parts: string[] = [];
  for (let i = prng.int(0, 4); i > 0; i--) {
    const key = prng.pick(keys);
    const value = prng.pick(values);
    parts.push(
      prng.next() < 0.8
        ? `${safeEncode(key)}=${safeEncode(value)}`
        : `${key}=${value.replaceAll(/[#?&\s]/g, '')}`,
    );
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}
