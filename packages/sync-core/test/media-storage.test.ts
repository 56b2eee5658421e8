import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createDb } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  MediaError,
  MediaQueue,
  MediaStorageService,
  type MediaTaskOutcome,
  mimeAllowed,
  TransientError,
  VirtualClock,
} from '../src/index.ts';
import { at, msg } from './support/messages.ts';

const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const PNG = Buffer.from(PNG_B64, 'base64');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

async function* chunks(total: number, size = 1024): AsyncGenerator<Uint8Array> {
  yield PNG;
  for (let sent = PNG.length; sent < total; sent += size) yield new Uint8Array(size).fill(7);
}

describe('mimeAllowed', () => {
  test('wildcards, exact types and parameters', () => {
    expect(mimeAllowed('image/png', ['image/*'])).toBe(true);
    expect(mimeAllowed('Audio/OGG; codecs=opus', ['audio/ogg'])).toBe(true);
    expect(mimeAllowed('application/pdf', ['image/*', 'application/pdf'])).toBe(true);
    expect(mimeAllowed('application/zip', ['image/*', 'application/pdf'])).toBe(false);
    expect(mimeAllowed('anything/x', ['*/*'])).toBe(true);
  });
});

describe('MediaStorageService on postgres', () => {
  let t: TestDb;
  let base: string;
  let inst: string;
  let media: MediaStorageService;
  let n = 0;
  const newMessage = async (extra: Parameters<typeof msg>[3] = {}, when = at(60 * 24 * 40)) => {
    n += 1;
    const m = msg('c1', `m${n}`, when, extra);
    const row = await t.db
      .insertInto('messages')
      .values({
        instance_id: inst,
        chat_external_id: m.chatId,
        external_id: m.externalId,
        sent_at: new Date(m.timestamp),
        kind: m.kind,
        has_media: true,
        media_metadata: JSON.stringify(m.media[0] ?? {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, m };
  };
  const rowOf = (id: string) =>
    t.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    t = await createTestDb('postgres');
    base = mkdtempSync(join(tmpdir(), 'omni-media-'));
    inst = (
      await t.db
        .insertInto('instances')
        .values({ name: 'media', channel: 'discord' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    media = new MediaStorageService(t.db, {
      basePath: base,
      maxFileSizeBytes: 4096,
      allowedMimeTypes: ['image/*', 'audio/*', 'application/pdf'],
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  test('base64 payload: decoded, stored at {instance}/{YYYY-MM}/{id}.{sniffed ext}, cleared from the row', async () => {
    const descriptor = { mimeType: 'image/jpeg', base64: PNG_B64, width: 1, height: 1, filename: 'a.jpg' };
    const { id } = await newMessage({ media: [descriptor] }, Date.UTC(2026, 1, 28, 23, 59));
    const r = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: Date.UTC(2026, 1, 28, 23, 59),
      descriptor,
    });
    expect(r.status).toBe('stored');
    if (r.status !== 'stored') return;
    expect(r.relativePath).toBe(join(inst, '2026-02', `${id}.png`));
    expect(readFileSync(join(base, r.relativePath))).toEqual(PNG);
    // Only the service's user reads media: files 0600 in folders 0700.
    expect(statSync(join(base, r.relativePath)).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(join(base, r.relativePath))).mode & 0o777).toBe(0o700);
    expect(r.sha256).toBe(sha(PNG));
    const row = await rowOf(id);
    expect(row.media_local_path).toBe(r.relativePath);
    expect(row.media_sha256).toBe(sha(PNG));
    expect(row.media_mime_type).toBe('image/png');
    expect(row.media_metadata).toMatchObject({
      width: 1,
      height: 1,
      filename: 'a.jpg',
      size: PNG.length,
      mimeType: 'image/png',
    });
    expect(row.media_metadata).not.toHaveProperty('base64');
  });

  test('size cap enforced while streaming: skipped, nothing left on disk', async () => {
    const { id } = await newMessage();
    const before = filesUnder(base).length;
    const r = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { mimeType: 'image/png' },
      bytes: chunks(10_000),
    });
    expect(r).toMatchObject({ status: 'skipped', reason: 'size' });
    expect(filesUnder(base).length).toBe(before);
    expect((await rowOf(id)).media_metadata).toMatchObject({ skipped: 'size' });
    const declared = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { mimeType: 'image/png', size: 5000 },
      bytes: chunks(100),
    });
    expect(declared).toMatchObject({ status: 'skipped', reason: 'size' });
  });

  test('mime filter: on the declared type, and on the sniffed type when it lies', async () => {
    const { id } = await newMessage();
    const zip = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { mimeType: 'application/zip' },
      bytes: PNG,
    });
    expect(zip).toMatchObject({ status: 'skipped', reason: 'type' });
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0)]);
    exe.write('PE\0\0', 128);
    exe.writeUInt32LE(128, 0x3c);
    const lying = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { mimeType: 'image/png' },
      bytes: exe,
    });
    expect(lying).toMatchObject({ status: 'skipped', reason: 'type' });
    expect(filesUnder(join(base, inst)).filter((f) => f.includes(id))).toEqual([]);
  });

  test('unsniffable content keeps the declared type as its mime, and a .bin name (never served inline)', async () => {
    const { id } = await newMessage();
    const r = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { mimeType: 'audio/ogg; codecs=opus' },
      bytes: new Uint8Array(300).fill(1),
    });
    expect(r).toMatchObject({ status: 'stored', mimeType: 'audio/ogg' });
    if (r.status === 'stored') expect(r.relativePath.endsWith(`${id}.bin`)).toBe(true);
  });

  test('SVG, HTML and XML are skipped as type, declared or found in the bytes', async () => {
    const cases: [string | undefined, string][] = [
      ['image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
      ['image/png', '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'],
      ['image/png', '\ufeff  \n<!DOCTYPE html><script>alert(1)</script>'],
      ['text/html', '<html><script>alert(1)</script></html>'],
      ['application/xml', '<?xml version="1.0"?><x/>'],
      [undefined, '<?xml version="1.0"?><svg/>'],
    ];
    const permissive = new MediaStorageService(t.db, {
      basePath: base,
      fsync: false,
      allowedMimeTypes: ['*/*'],
    });
    for (const [mimeType, body] of cases) {
      const { id } = await newMessage();
      const r = await permissive.store({
        instanceId: inst,
        messageId: id,
        sentAt: at(0),
        descriptor: mimeType ? { mimeType } : {},
        bytes: new TextEncoder().encode(body),
      });
      expect(r).toMatchObject({ status: 'skipped', reason: 'type' });
      expect((await rowOf(id)).media_metadata).toMatchObject({ skipped: 'type' });
    }
  });

  test('an SVG named exactly in allowedMimeTypes is stored, as .bin', async () => {
    const exact = new MediaStorageService(t.db, {
      basePath: base,
      fsync: false,
      allowedMimeTypes: ['image/*', 'image/svg+xml'],
    });
    const { id } = await newMessage();
    const r = await exact.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { mimeType: 'image/svg+xml' },
      bytes: new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'),
    });
    expect(r).toMatchObject({ status: 'stored', mimeType: 'image/svg+xml' });
    if (r.status === 'stored') expect(r.relativePath.endsWith(`${id}.bin`)).toBe(true);
  });

  test('identical content within an instance is stored once', async () => {
    const bytes = Buffer.concat([PNG, Buffer.from('same-content')]);
    const a = await newMessage();
    const b = await newMessage({}, at(60 * 24 * 70));
    const ra = await media.store({ instanceId: inst, messageId: a.id, sentAt: at(0), descriptor: {}, bytes });
    const rb = await media.store({
      instanceId: inst,
      messageId: b.id,
      sentAt: at(60 * 24 * 70),
      descriptor: {},
      bytes,
    });
    expect(ra).toMatchObject({ status: 'stored', deduplicated: false });
    expect(rb).toMatchObject({ status: 'stored', deduplicated: true });
    if (ra.status !== 'stored' || rb.status !== 'stored') return;
    expect(rb.relativePath).toBe(ra.relativePath);
    expect((await rowOf(b.id)).media_local_path).toBe(ra.relativePath);
    expect(filesUnder(base).filter((f) => readFileSync(f).equals(bytes))).toHaveLength(1);
  });

  test('identical content is stored once across processes: two services on their own connections racing', async () => {
    // A second process: its own pool and its own MediaStorageService over the same database and folder.
    const other = await createDb({ databaseUrl: t.url, migrate: false });
    try {
      const media2 = new MediaStorageService(other.db, {
        basePath: base,
        maxFileSizeBytes: 4096,
        allowedMimeTypes: ['image/*'],
      });
      const contents = Array.from({ length: 12 }, (_, i) => Buffer.concat([PNG, Buffer.from(`race ${i}`)]));
      const pairs = await Promise.all(
        contents.map(async () => [await newMessage(), await newMessage()] as const),
      );
      const results = await Promise.all(
        pairs.flatMap(([a, b], i) => [
          media.store({
            instanceId: inst,
            messageId: a.id,
            sentAt: at(0),
            descriptor: {},
            bytes: contents[i],
          }),
          media2.store({
            instanceId: inst,
            messageId: b.id,
            sentAt: at(0),
            descriptor: {},
            bytes: contents[i],
          }),
        ]),
      );
      for (const [i, bytes] of contents.entries()) {
        const onDisk = filesUnder(base).filter((f) => readFileSync(f).equals(bytes));
        expect({ content: i, files: onDisk.length }).toEqual({ content: i, files: 1 });
        const [a, b] = pairs[i] ?? [];
        const paths = [
          (await rowOf(a?.id ?? '')).media_local_path,
          (await rowOf(b?.id ?? '')).media_local_path,
        ];
        expect(paths[0]).toBe(paths[1]);
        const pair = [results[2 * i], results[2 * i + 1]];
        expect(pair.filter((r) => r?.status === 'stored' && r.deduplicated).length).toBe(1);
      }
    } finally {
      await other.close();
    }
  });

  test('a wrong expected sha256 fails with a retryable MediaError and leaves no file', async () => {
    const { id } = await newMessage();
    const err = await media
      .store({
        instanceId: inst,
        messageId: id,
        sentAt: at(0),
        descriptor: { sha256: 'a'.repeat(64) },
        bytes: PNG,
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(err.reason).toBe('sha256-mismatch');
    expect(filesUnder(base).filter((f) => f.includes(id))).toEqual([]);
    const ok = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: at(0),
      descriptor: { sha256: Buffer.from(sha(PNG), 'hex').toString('base64') },
      bytes: PNG,
    });
    expect(ok.status).toBe('stored');
  });

  test('killing a process in the middle of a write leaves no file at the final path', async () => {
    const { id } = await newMessage();
    const child = Bun.spawn(
      ['bun', join(import.meta.dir, 'support/media-child.ts'), t.url ?? '', base, inst, id],
      {
        stdout: 'pipe',
        stderr: 'inherit',
      },
    );
    const reader = child.stdout.getReader();
    let out = '';
    while (!out.includes('written 2')) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    child.kill('SIGKILL');
    await child.exited;
    expect(out).toContain('written 2');
    const final = join(base, inst, '2026-03', `${id}.png`);
    expect(existsSync(final)).toBe(false);
    const left = filesUnder(join(base, inst, '2026-03'));
    expect(left.every((f) => f.endsWith('.part'))).toBe(true);
    expect(left.length).toBe(1);
    const fresh = Buffer.concat([PNG, Buffer.from('after-kill')]);
    const r = await media.store({
      instanceId: inst,
      messageId: id,
      sentAt: Date.UTC(2026, 2, 15),
      descriptor: {},
      bytes: fresh,
    });
    expect(r).toMatchObject({ status: 'stored', relativePath: join(inst, '2026-03', `${id}.png`) });
    expect(readFileSync(final)).toEqual(fresh);
    expect(await media.removeStaleTempFiles(60_000)).toBe(0);
    expect(await media.removeStaleTempFiles(-1)).toBe(1);
    expect(filesUnder(join(base, inst, '2026-03')).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(existsSync(final)).toBe(true);
  }, 30_000);

  test('the media queue retries failures with backoff, then reports failed; skips are not failures', async () => {
    const clock = new VirtualClock(0);
    const outcomes: MediaTaskOutcome[] = [];
    const queue = new MediaQueue(media, {
      clock,
      maxAttempts: 3,
      retryBaseMs: 500,
      concurrency: 2,
      maxQueued: 1,
      onOutcome: (o) => {
        outcomes.push(o);
      },
    });
    const flaky = await newMessage();
    const broken = await newMessage();
    const big = await newMessage();
    let flakyCalls = 0;
    let brokenCalls = 0;
    const base = { instanceId: inst, sentAt: at(0), message: msg('c1', 'x', at(0)) };
    await queue.enqueue({
      ...base,
      messageId: flaky.id,
      descriptor: {},
      fetch: async () => {
        flakyCalls += 1;
        if (flakyCalls < 3) throw new TransientError('cdn 503');
        return PNG;
      },
    });
    await queue.enqueue({
      ...base,
      messageId: broken.id,
      descriptor: {},
      fetch: async () => {
        brokenCalls += 1;
        throw new TransientError('always down');
      },
    });
    await queue.enqueue({ ...base, messageId: big.id, descriptor: { size: 1e9 }, fetch: async () => PNG });
    await queue.drain();
    const by = (id: string) => outcomes.find((o) => o.task.messageId === id);
    expect(by(flaky.id)?.status).toBe('stored');
    expect(flakyCalls).toBe(3);
    expect(by(broken.id)).toMatchObject({ status: 'failed', reason: 'transient' });
    expect(brokenCalls).toBe(3);
    expect(by(big.id)).toMatchObject({ status: 'skipped', reason: 'size' });
    expect(clock.slept.filter((ms) => ms === 500)).toHaveLength(2);
    expect(clock.slept.filter((ms) => ms === 1000)).toHaveLength(2);
  });
});
