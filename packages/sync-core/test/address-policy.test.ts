import { describe, expect, test } from 'bun:test';
import { blockedRange, ipLiteralOf, isPublicAddress } from '../src/media/address-policy.ts';
import { hostAllowed, parseAllowOrigins } from '../src/media/media-host-policy.ts';

/** Every spelling a resolver or a URL can hand over, with the range it must be refused as. */
const REFUSED: [string, string][] = [
  // loopback, every IPv4 notation
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['2130706433', 'loopback'],
  ['017700000001', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['0x7f.0.0.1', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['127.1', 'loopback'],
  // unspecified
  ['0.0.0.0', 'unspecified'],
  ['0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  // private
  ['10.0.0.1', 'private'],
  ['012.0.0.1', 'private'],
  ['167772161', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['0xc0.0xa8.1.1', 'private'],
  // link-local and metadata
  ['169.254.1.1', 'linkLocal'],
  ['169.254.169.254', 'metadata'],
  ['2852039166', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['192.0.0.192', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:ec2:0:0:0:0:0:254', 'metadata'],
  // CGNAT
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.127.255.254', 'carrierGradeNat'],
  // multicast, broadcast, reserved
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  // IPv6
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::', 'unspecified'],
  ['fc00::1', 'uniqueLocal'],
  ['fd12:3456::1', 'uniqueLocal'],
  ['fe80::1', 'linkLocal'],
  ['fe80::1%eth0', 'linkLocal'],
  ['ff02::1', 'multicast'],
  ['2001::1', 'teredo'],
  ['2001:db8::1', 'reserved'],
  // IPv6 carrying an IPv4 address: judged by the IPv4 inside
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['[::ffff:7f00:1]', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::127.0.0.1', 'loopback'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a00:1', 'private'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:c0a8:101::1', 'private'],
  // not an address at all
  ['localhost', 'invalid'],
  ['', 'invalid'],
];

const PUBLIC = [
  '8.8.8.8',
  '162.159.128.233',
  '1.1.1.1',
  '2606:4700::1111',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
];

describe('blockedRange', () => {
  for (const [address, range] of REFUSED) {
    test(`${address || '(empty)'} is refused as ${range}`, () => {
      expect(blockedRange(address)).toBe(range);
      expect(isPublicAddress(address)).toBe(false);
    });
  }
  for (const address of PUBLIC) {
    test(`${address} is public`, () => {
      expect(blockedRange(address)).toBeNull();
      expect(isPublicAddress(address)).toBe(true);
    });
  }
});

describe('ipLiteralOf (a WHATWG-parsed hostname)', () => {
  const cases: [string, string | null][] = [
    ['https://2130706433/', '127.0.0.1'],
    ['https://0177.0.0.1/', '127.0.0.1'],
    ['https://0x7f.1/', '127.0.0.1'],
    ['https://127.1/', '127.0.0.1'],
    ['https://0/', '0.0.0.0'],
    ['https://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['https://[::1]/', '::1'],
    ['https://cdn.discordapp.com/', null],
    ['https://127.0.0.1.nip.io/', null],
  ];
  for (const [url, literal] of cases) {
    test(`${url} → ${literal}`, () => {
      const hostname = new URL(url).hostname;
      expect(ipLiteralOf(hostname)).toBe(literal);
      if (literal) expect(blockedRange(literal)).not.toBeNull();
    });
  }
});

describe('hostAllowed', () => {
  const allowed = ['cdn.discordapp.com', '*.whatsapp.net'];
  test('exact names and subdomain wildcards, case and trailing dot aside', () => {
    expect(hostAllowed('cdn.discordapp.com', allowed)).toBe(true);
    expect(hostAllowed('CDN.DiscordApp.com.', allowed)).toBe(true);
    expect(hostAllowed('mmg.whatsapp.net', allowed)).toBe(true);
    expect(hostAllowed('media.fra3-1.fna.whatsapp.net', allowed)).toBe(true);
  });
  test('look-alikes are refused', () => {
    for (const host of [
      'whatsapp.net',
      'evilwhatsapp.net',
      'cdn.discordapp.com.evil.test',
      'xcdn.discordapp.com',
      'discordapp.com',
      '',
    ]) {
      expect(hostAllowed(host, allowed)).toBe(false);
    }
  });
});

describe('parseAllowOrigins', () => {
  test('normalizes origins; empty allows nothing', () => {
    expect(parseAllowOrigins(undefined)).toEqual([]);
    expect(parseAllowOrigins('')).toEqual([]);
    expect(parseAllowOrigins(' http://127.0.0.1:39000 , HTTPS://Mirror.Example:443 ')).toEqual([
      'http://127.0.0.1:39000',
      'https://mirror.example',
    ]);
  });
  test('anything that is not a bare http(s) origin is refused loudly', () => {
    for (const bad of [
      '127.0.0.1:39000',
      'http://127.0.0.1:39000/media',
      'file:///etc',
      'http://u:p@host',
      'nonsense',
    ]) {
      expect(() => parseAllowOrigins(bad)).toThrow(TypeError);
    }
  });
});
