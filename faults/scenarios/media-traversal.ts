import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Scenario } from '../lib/scenario.ts';
import { check } from '../lib/wait.ts';
import { SyncWorld } from '../lib/world.ts';

/** Sends `GET <target>` as raw bytes (no client-side normalisation) and returns the whole answer. */
function rawGet(port: number, target: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (c: Buffer | string) => chunks.push(Buffer.from(c)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on('error', () => {});
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: faults-key\r\nConnection: close\r\n\r\n`,
      'latin1',
    );
  });
}

/** Path tricks that each stand for one `..` step (or a separator) in some decoder. */
const UP = [
  '..',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '%252e%252e',
  '%c0%ae%c0%ae',
  '..%00',
  '..;',
  '...',
  '..%5c',
  '%2e%2e%2f',
  '..%2f',
  '%252e%252e%252f',
];
const SEP = ['/', '%2f', '%2F', '%5c', '%5C', '\\', '%252f', '//', '/./'];

/**
 * A traversal corpus against the media route, sent both through `app.inject` and as raw HTTP over
 * TCP to the app listening on 127.0.0.1: `..` and its encodings, encoded separators and
 * backslashes, double encoding, overlong UTF-8, absolute paths, NUL, another instance's folder, and
 * symlinks inside the instance folder that point at a file, a folder and /etc outside the root.
 * No answer may carry a byte of any secret (files outside the media root, at its top, or /etc; another
 * instance's file only when the normalised URL names that instance), no answer may be a
 * 5xx, and the legitimate file must still be served (so the check is not vacuous).
 */
export const mediaTraversal: Scenario = {
  name: 'media-traversal',
  timeoutMs: () => 180_000,
  async run({ config, cleanup, log }) {
    const world = await SyncWorld.open({
      cleanup,
      natsUrl: config.natsUrl,
      fake: { data: { seed: 91, guilds: [{ name: 'T', channels: [{ name: 't', messageCount: 5 }] }] } },
    });
    const instance = await world.connectedInstance('traversal');
    const other = await world.connectedInstance('other');
    const outside = join(world.dir, 'outside');
    const root = join(world.dir, 'media');
    mkdirSync(outside);
    mkdirSync(join(root, instance, '2026-01'), { recursive: true });
    mkdirSync(join(root, other, '2026-01'), { recursive: true });
    const secrets = new Map<string, string>();
    const secret = (path: string, label: string) => {
      const value = `SECRET-${label}-${randomBytes(12).toString('hex')}`;
      writeFileSync(path, value);
      secrets.set(label, value);
    };
    secret(join(world.dir, 'secret.txt'), 'parent');
    secret(join(outside, 'secret.txt'), 'outside');
    secret(join(root, 'secret.txt'), 'root');
    secret(join(root, other, '2026-01', 'x.jpg'), 'other-instance');
    const ok = randomBytes(2048);
    writeFileSync(join(root, instance, '2026-01', 'ok.jpg'), ok);
    const dir = join(root, instance, '2026-01');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'link-file.jpg'));
    symlinkSync(outside, join(dir, 'link-dir'));
    symlinkSync('/etc', join(dir, 'link-etc'));
    symlinkSync(join(root, 'secret.txt'), join(root, instance, 'root-link.jpg'));
    symlinkSync(join(root, other), join(root, instance, 'other-link'));
    // The media folder is set at deploy time: the API's settings read it from the environment.
    const before = process.env.MEDIA_STORAGE_PATH;
    process.env.MEDIA_STORAGE_PATH = root;
    cleanup.add('MEDIA_STORAGE_PATH', () => {
      if (before === undefined) delete process.env.MEDIA_STORAGE_PATH;
      else process.env.MEDIA_STORAGE_PATH = before;
    });

    const targets = ['secret.txt', 'outside/secret.txt', `${other}/2026-01/x.jpg`, 'etc/passwd'];
    const tails = new Set<string>();
    for (const up of UP)
      for (const sep of SEP)
        for (let depth = 1; depth <= config.sizes.traversalDepth; depth++)
          for (const target of targets)
            tails.add(
              `${Array.from({ length: depth }, () => up).join(sep)}${sep}${target.replaceAll('/', sep)}`,
            );
    for (const t of [
      '/etc/passwd',
      '%2fetc%2fpasswd',
      '//etc/passwd',
      `${root}/secret.txt`,
      `%2f${encodeURIComponent(root.slice(1))}%2fsecret.txt`,
      '2026-01/ok.jpg%00../../secret.txt',
      '2026-01/ok.jpg%00.png',
      '2026-01/link-file.jpg',
      '2026-01/link-dir/secret.txt',
      '2026-01/link-etc/passwd',
      'root-link.jpg',
      'other-link/2026-01/x.jpg',
      '2026-01/link-dir/../secret.txt',
      '2026-01/link-dir/%2e%2e/secret.txt',
      '2026-01/./../../secret.txt',
      '2026-01\\..\\..\\secret.txt',
      'C:\\Windows\\win.ini',
      `../${other}/2026-01/x.jpg`,
      `%2e%2e/${other}/2026-01/x.jpg`,
    ])
      tails.add(t);
    const urls: string[] = [];
    for (const prefix of ['/api/v2/media', '/media'])
      for (const inst of [instance, '..', '%2e%2e', other])
        for (const tail of tails) urls.push(`${prefix}/${inst}/${tail}`);
    for (const prefix of ['/api/v2/media', '/media'])
      urls.push(`${prefix}/..%2f..%2fsecret.txt`, `${prefix}/%2e%2e/secret.txt`, `${prefix}/../secret.txt`);
    // One API key serves every instance: another instance's file is legitimate when the URL, with its
    // dot segments removed as RFC 3986 and the WHATWG URL parser do (`\\` is `/` for http), names it.
    const legitimateOther = (url: string) =>
      /^\/(api\/v2\/)?media\/([^/]+)\/2026-01\/x\.jpg$/.exec(
        new URL(url, 'http://127.0.0.1').pathname,
      )?.[2] === other;

    await world.app.listen({ host: '127.0.0.1', port: 0 });
    const address = world.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const escapes: string[] = [];
    const fiveXX: string[] = [];
    const statuses = new Map<number, number>();
    const leaked = (body: Buffer) =>
      [...secrets].filter(([, v]) => body.includes(v) || body.includes(v.slice(0, 16))).map(([k]) => k);
    const passwd = (body: Buffer) => body.includes('root:x:0:0');
    let sent = 0;
    for (const url of urls) {
      const allowOther = legitimateOther(url);
      const injected = await world.app.inject({ method: 'GET', url, headers: { 'x-api-key': 'faults-key' } });
      const raw = await rawGet(port, url);
      sent += 2;
      const rawStatus = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw.toString('latin1'))?.[1] ?? 0);
      for (const [how, status, body] of [
        ['inject', injected.statusCode, injected.rawPayload],
        ['tcp', rawStatus, raw],
      ] as const) {
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500 || status === 0) fiveXX.push(`${how} ${url} → ${status}`);
        const found = leaked(body).filter((k) => !(allowOther && k === 'other-instance'));
        if (found.length > 0 || passwd(body))
          escapes.push(`${how} ${url} → ${status} leaked ${found.join(',') || '/etc/passwd'}`);
      }
    }
    const good = await world.app.inject({
      url: `/api/v2/media/${instance}/2026-01/ok.jpg`,
      headers: { 'x-api-key': 'faults-key' },
    });
    const goodRaw = await rawGet(port, `/media/${instance}/2026-01/ok.jpg`);
    const histogram = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    log(`${urls.length} paths × (inject + raw TCP) = ${sent} requests: ${histogram}`);
    check(
      good.statusCode === 200 && good.rawPayload.equals(ok),
      `the legitimate file was not served (${good.statusCode})`,
    );
    check(goodRaw.includes(ok), 'the legitimate file was not served over TCP');
    check(escapes.length === 0, `${escapes.length} escapes, e.g. ${escapes.slice(0, 3).join(' | ')}`);
    check(fiveXX.length === 0, `${fiveXX.length} answers ≥ 500, e.g. ${fiveXX.slice(0, 3).join(' | ')}`);
    return `${sent} traversal requests, 0 escapes, 0 5xx; the legitimate file still served`;
  },
};
