import ipaddr from 'ipaddr.js';

/**
 * Cloud metadata endpoints, refused by name even where their range would already refuse them
 * (AWS/GCP/Azure/OpenStack 169.254.169.254, AWS IPv6 fd00:ec2::254, Alibaba 100.100.100.200,
 * Oracle 192.0.0.192).
 */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192']);

/**
 * Why `address` may not be connected to, or `null` when it is a public unicast address. Every
 * IPv4 range other than public unicast is refused (`unspecified` 0.0.0.0/8, `loopback`, `private`,
 * `linkLocal`, `carrierGradeNat`, `multicast`, `broadcast`, `reserved`, …), every IPv6 range other
 * than global unicast (`loopback`, `uniqueLocal`, `linkLocal`, `multicast`, `teredo`, …), and
 * IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`,
 * 6to4 `2002::/16`) are judged by the IPv4 address inside. Any spelling `ipaddr.js` accepts is
 * understood: `2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`, `[::ffff:7f00:1]`.
 *
 * @example
 * ```ts
 * blockedRange('10.0.0.7'); // 'private'
 * blockedRange('::ffff:127.0.0.1'); // 'loopback'
 * blockedRange('162.159.128.233'); // null
 * ```
 */
export function blockedRange(address: string): string | null {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(bare.includes('%') ? (bare.split('%')[0] ?? '') : bare);
  } catch {
    return 'invalid';
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const embedded = embeddedIPv4(v6);
    if (embedded) return blockedRange(embedded.toString());
    if (METADATA.has(v6.toString())) return 'metadata';
    const range = v6.range();
    return range === 'unicast' ? null : range;
  }
  const v4 = parsed as ipaddr.IPv4;
  if (METADATA.has(v4.toString())) return 'metadata';
  const range = v4.range();
  return range === 'unicast' ? null : range;
}

/** True when `address` is a public unicast address (see {@link blockedRange}). */
export function isPublicAddress(address: string): boolean {
  return blockedRange(address) === null;
}

/**
 * The IP address a URL hostname spells, or `null` for a name. Expects a WHATWG-parsed hostname
 * (`new URL(u).hostname`), where every IPv4 spelling is already normalized to dotted decimal and
 * IPv6 is bracketed.
 */
export function ipLiteralOf(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return ipaddr.IPv4.isValidFourPartDecimal(hostname) ? hostname : null;
}

function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | null {
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const range = v6.range();
  const bytes = v6.toByteArray();
  if (range === 'rfc6052') return new ipaddr.IPv4(bytes.slice(12, 16));
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6));
  return null;
}
