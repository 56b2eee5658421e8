import { lookup } from 'node:dns/promises';
import { MediaRefusedError } from '../errors/media-refused-error.ts';
import { TransientError } from '../errors/transient-error.ts';
import { blockedRange, ipLiteralOf } from './address-policy.ts';
import { hostAllowed, normalizeHost } from './media-host-policy.ts';

/** Resolves a host name to its addresses (every one is checked); the fetcher's DNS plug point. */
export type HostResolver = (hostname: string) => Promise<readonly string[]>;

/** The system resolver (`getaddrinfo`, every address, in its order). */
export const systemResolver: HostResolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** Where one checked URL is fetched from. */
export interface MediaTarget {
  url: URL;
  /** What the connection is opened to: the checked address, or the host itself for a trusted origin. */
  connectHost: string;
  /** TLS server name (and `Host`) when `connectHost` is an address standing for a name. */
  servername: string | null;
  /** The URL's origin is on `MEDIA_ALLOW_ORIGINS`: taken as it is, no further checks. */
  trusted: boolean;
}

/** The rules one URL is checked against. */
export interface MediaUrlRules {
  /** Hosts of the channel (exact or `*.suffix`). */
  allowedHosts: readonly string[];
  /** Origins passed as they are (`MEDIA_ALLOW_ORIGINS`). */
  allowOrigins: ReadonlySet<string>;
  resolve: HostResolver;
}

const printable = (url: URL | string): string => {
  const text = typeof url === 'string' ? url : `${url.protocol}//${url.host}${url.pathname}`;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
};

/**
 * Checks one URL (the first or a redirect's) and says where to connect: an origin on
 * `allowOrigins` passes as it is; anything else must be `https`, on the default port, name a
 * host on `allowedHosts`, and resolve only to public addresses (an address spelled in the URL is
 * judged the same way). Refusals throw {@link MediaRefusedError} with the reason.
 */
export async function checkMediaUrl(raw: string, rules: MediaUrlRules): Promise<MediaTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MediaRefusedError('scheme', `not a URL: ${printable(raw)}`);
  }
  if (url.origin !== 'null' && rules.allowOrigins.has(url.origin)) {
    return { url, connectHost: ipLiteralOf(url.hostname) ?? url.hostname, servername: null, trusted: true };
  }
  if (url.protocol !== 'https:') {
    throw new MediaRefusedError(
      'scheme',
      `only https media is fetched, not ${url.protocol} (${printable(url)})`,
    );
  }
  const literal = ipLiteralOf(url.hostname);
  if (literal !== null) {
    const range = blockedRange(literal);
    if (range) throw new MediaRefusedError('address', `${printable(url)} is a ${range} address`);
    throw new MediaRefusedError('host', `${printable(url)}: an IP address is not a media host`);
  }
  const host = normalizeHost(url.hostname);
  if (!hostAllowed(host, rules.allowedHosts)) {
    throw new MediaRefusedError('host', `${host} is not an allowed media host (${printable(url)})`);
  }
  if (url.port !== '') {
    throw new MediaRefusedError('host', `${printable(url)}: media is fetched from port 443 only`);
  }
  let addresses: readonly string[];
  try {
    addresses = await rules.resolve(host);
  } catch (error) {
    throw new TransientError(`media host ${host} could not be resolved`, { cause: error });
  }
  if (addresses.length === 0) throw new TransientError(`media host ${host} has no address`);
  for (const address of addresses) {
    const range = blockedRange(address);
    if (range) {
      throw new MediaRefusedError('address', `${host} resolves to ${address}, a ${range} address`, {
        details: { host, address, range },
      });
    }
  }
  return { url, connectHost: addresses[0] as string, servername: host, trusted: false };
}
