import type { HostResolver, MediaRefusal } from '@omni/sync-core';
import type { HostileMediaServer } from './hostile-media-server.ts';
import type { InternalEndpoint } from './internal-endpoint.ts';

/** What must happen to one media URL: stored, or refused for this reason. */
export type HostileExpectation = 'stored' | MediaRefusal;

/** One media URL a hostile platform or contact hands over, and what the service must do with it. */
export interface HostileMediaCase {
  name: string;
  url: string;
  /** The type the message declares. */
  contentType: string;
  expect: HostileExpectation;
  /**
   * Discord only: `url` answers 404 and `POST /attachments/refresh-urls` answers this URL (a
   * hostile API pointing the refresh at an internal address).
   */
  refreshTo?: string;
}

/**
 * Names on Discord's media-host allowlist that a hostile resolver points at internal addresses
 * (DNS rebinding, a poisoned resolver): each must be refused as `address`.
 */
export const DISCORD_REBOUND_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'media.discordapp.net': ['127.0.0.1'],
  'images-ext-1.discordapp.net': ['10.0.0.7'],
  'images-ext-2.discordapp.net': ['::ffff:127.0.0.1'],
  'cdn.discordapp.com': ['169.254.169.254'],
};

/** The same for WhatsApp's media hosts. */
export const WHATSAPP_REBOUND_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'mmg.whatsapp.net': ['127.0.0.1'],
  'media-fra5-1.cdn.whatsapp.net': ['fd00::1'],
  'mmg-fallback.whatsapp.net': ['192.0.2.10', '100.64.0.9'],
};

/**
 * A `MediaFetcher` resolver answering from `map` only (no DNS at all): an unknown name fails as
 * an unresolvable host would.
 */
export function mapResolver(map: Readonly<Record<string, readonly string[]>>): HostResolver {
  return async (hostname) => {
    const addresses = map[hostname];
    if (!addresses) throw new Error(`no address for ${hostname} (test resolver)`);
    return addresses;
  };
}

/**
 * Every hostile media URL of the issue, for a channel whose media hosts are the keys of
 * `rebound` (resolved by {@link mapResolver}`(rebound)` to internal addresses): file URLs,
 * loopback and private addresses in every spelling, allowed names resolving to internal
 * addresses, redirect chains to them and past the hop limit, refresh answers pointing at them
 * (`discord`), tarpits, stalls and oversize bodies. The internal endpoint must never be connected to.
 */
export function hostileMediaCases(
  world: { internal: InternalEndpoint; server: HostileMediaServer },
  channel: 'discord' | 'whatsapp',
): HostileMediaCase[] {
  const rebound = Object.keys(channel === 'discord' ? DISCORD_REBOUND_HOSTS : WHATSAPP_REBOUND_HOSTS);
  const port = world.internal.port;
  const origin = world.server.origin;
  const png = 'image/png';
  const to = (target: string, hops = 1) => `${origin}/chain/${hops - 1}?to=${encodeURIComponent(target)}`;
  const cases: HostileMediaCase[] = [
    { name: 'file URL', url: 'file:///etc/passwd', contentType: png, expect: 'scheme' },
    { name: 'data URL', url: 'data:image/png;base64,iVBORw0KGgo=', contentType: png, expect: 'scheme' },
    { name: 'internal over http', url: `http://127.0.0.1:${port}/admin`, contentType: png, expect: 'scheme' },
    { name: 'loopback', url: `https://127.0.0.1:${port}/admin`, contentType: png, expect: 'address' },
    { name: 'decimal loopback', url: `https://2130706433:${port}/`, contentType: png, expect: 'address' },
    { name: 'octal loopback', url: `https://0177.0.0.1:${port}/`, contentType: png, expect: 'address' },
    { name: 'hex loopback', url: `https://0x7f.0.0.1:${port}/`, contentType: png, expect: 'address' },
    { name: 'short loopback', url: `https://127.1:${port}/`, contentType: png, expect: 'address' },
    { name: '0.0.0.0', url: `https://0.0.0.0:${port}/`, contentType: png, expect: 'address' },
    { name: 'IPv6 loopback', url: `https://[::1]:${port}/`, contentType: png, expect: 'address' },
    {
      name: 'IPv4-mapped loopback',
      url: `https://[::ffff:127.0.0.1]:${port}/`,
      contentType: png,
      expect: 'address',
    },
    { name: 'private', url: 'https://10.1.2.3/x.png', contentType: png, expect: 'address' },
    {
      name: 'metadata',
      url: 'https://169.254.169.254/latest/meta-data/',
      contentType: png,
      expect: 'address',
    },
    { name: 'CGNAT', url: 'https://100.64.0.1/x.png', contentType: png, expect: 'address' },
    { name: 'unique-local', url: 'https://[fd00::1]/x.png', contentType: png, expect: 'address' },
    ...rebound.map(
      (host): HostileMediaCase => ({
        name: `${host} resolving to an internal address`,
        url: `https://${host}/attachments/1/2/x.png`,
        contentType: png,
        expect: 'address',
      }),
    ),
    { name: 'foreign host', url: 'https://evil.example/x.png', contentType: png, expect: 'host' },
    {
      name: 'look-alike host',
      url: `https://${rebound[0]}.evil.example/x.png`,
      contentType: png,
      expect: 'host',
    },
    {
      name: 'allowed host, other port',
      url: `https://${rebound[0]}:8443/x.png`,
      contentType: png,
      expect: 'host',
    },
    {
      name: 'redirect to internal',
      url: to(`https://127.0.0.1:${port}/admin`),
      contentType: png,
      expect: 'address',
    },
    {
      name: 'redirect to decimal loopback',
      url: to(`https://2130706433:${port}/`, 2),
      contentType: png,
      expect: 'address',
    },
    {
      name: 'redirect to a rebound name',
      url: to(`https://${rebound[0]}/x.png`, 3),
      contentType: png,
      expect: 'address',
    },
    { name: 'redirect to a file URL', url: to('file:///etc/passwd'), contentType: png, expect: 'scheme' },
    {
      name: 'redirect to internal http',
      url: to(`http://127.0.0.1:${port}/`),
      contentType: png,
      expect: 'scheme',
    },
    { name: 'too many redirects', url: `${origin}/hop/9/none.png`, contentType: png, expect: 'redirect' },
    { name: 'tarpit', url: `${origin}/tarpit`, contentType: png, expect: 'timeout' },
    { name: 'stall', url: `${origin}/stall`, contentType: png, expect: 'timeout' },
    { name: 'endless body', url: `${origin}/huge`, contentType: png, expect: 'size' },
    { name: 'declared 10 GB', url: `${origin}/huge-declared`, contentType: png, expect: 'size' },
  ];
  if (channel === 'discord') {
    cases.push(
      {
        name: 'refresh answering loopback',
        url: `${origin}/gone/1`,
        contentType: png,
        expect: 'address',
        refreshTo: `https://127.0.0.1:${port}/admin`,
      },
      {
        name: 'refresh answering a rebound name',
        url: `${origin}/gone/2`,
        contentType: png,
        expect: 'address',
        refreshTo: `https://${rebound[0]}/x.png`,
      },
      {
        name: 'refresh answering a file URL',
        url: `${origin}/gone/3`,
        contentType: png,
        expect: 'scheme',
        refreshTo: 'file:///etc/passwd',
      },
    );
  }
  return cases;
}

/** Markup an attacker may post as media: refused as `type` whatever it is declared as. */
export const HOSTILE_MARKUP: readonly { name: string; contentType: string; body: string }[] = [
  {
    name: 'svg',
    contentType: 'image/svg+xml',
    body: '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"/>',
  },
  {
    name: 'svg declared as png',
    contentType: 'image/png',
    body: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
  },
  {
    name: 'html declared as png',
    contentType: 'image/png',
    body: '<!doctype html><script>alert(1)</script>',
  },
  {
    name: 'xml declared as jpeg',
    contentType: 'image/jpeg',
    body: '<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>',
  },
];
