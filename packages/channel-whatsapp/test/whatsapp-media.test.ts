import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  isSyncError,
  MediaError,
  type MediaRefusal,
  MediaRefusedError,
  type NormalizedMessage,
} from '@omni/sync-core';
import { FakeMediaServer, waMessages } from '@omni/testkit/whatsapp';
import { harness } from './helpers.ts';

const NOW = 1_760_000_000;
const ME = { id: '15559990000@s.whatsapp.net', name: 'Me' };
const CHAT = '15550001111@s.whatsapp.net';

let server: FakeMediaServer;
beforeAll(() => {
  server = new FakeMediaServer();
});
afterAll(() => server.close());

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function setup() {
  const voicePlain = bytes(70_001, 7);
  const imagePlain = bytes(20_000, 3);
  const voice = await server.publish(voicePlain, 'audio', 'audio/ogg; codecs=opus');
  const image = await server.publish(imagePlain, 'image', 'image/jpeg');
  const wave = new Uint8Array(64).map((_, i) => i * 3);
  const h = harness({
    me: ME,
    media: server,
    chats: [
      {
        jid: CHAT,
        messages: [
          waMessages.voice({ id: 'VOICE', chat: CHAT, timestamp: NOW - 20, pushName: 'Ana' }, voice, 9, wave),
          waMessages.image({ id: 'IMG', chat: CHAT, timestamp: NOW - 10, fromMe: true }, image, 'look'),
        ],
      },
    ],
  });
  await h.plugin.connect(h.id);
  await h.plugin.flush(h.id);
  const byId = new Map(h.pushed.flatMap((b) => b.messages).map((m) => [String(m.externalId), m]));
  const get = (id: string): NormalizedMessage => {
    const m = byId.get(id);
    if (!m) throw new Error(`missing ${id}`);
    return m;
  };
  return { h, voicePlain, imagePlain, voice, image, wave, get };
}

describe('media', () => {
  test('voice note metadata, and the bytes decrypt (Baileys) and verify (fileSha256)', async () => {
    const { h, voicePlain, wave, get } = await setup();
    const voice = get('VOICE');
    expect(voice.kind).toBe('voice');
    const d = voice.media[0];
    expect(d).toMatchObject({ isVoiceNote: true, durationSeconds: 9, mimeType: 'audio/ogg; codecs=opus' });
    expect(d?.waveform).toBe(Buffer.from(wave).toString('base64'));
    if (!d) throw new Error('no media');
    const out = await readAll(await h.plugin.downloadMedia(h.ctx, d, voice));
    expect(out.length).toBe(voicePlain.length);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(voicePlain))).toBe(0);
    expect(h.ctx.requests).toContain('media');
    await h.plugin.close();
  });

  test('a wrong fileSha256 errors the stream with hash_mismatch', async () => {
    const { h, get } = await setup();
    const image = get('IMG');
    const d = image.media[0];
    if (!d) throw new Error('no media');
    const stream = await h.plugin.downloadMedia(h.ctx, { ...d, sha256: '00'.repeat(32) }, image);
    const failure = await readAll(stream).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MediaError);
    expect((failure as MediaError).reason).toBe('sha256-mismatch');
    await h.plugin.close();
  });

  test('tampered ciphertext does not pass as the file', async () => {
    const { h, image: published, get } = await setup();
    server.replaceBytes(published.url, bytes(20_026, 99));
    const image = get('IMG');
    const d = image.media[0];
    if (!d) throw new Error('no media');
    const failure = await h.plugin
      .downloadMedia(h.ctx, d, image)
      .then(readAll)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MediaError);
    expect(['sha256-mismatch', 'download-failed']).toContain((failure as MediaError).reason);
    await h.plugin.close();
  });

  test('expired media (410) → one re-upload request, then the new URL downloads', async () => {
    const { h, imagePlain, image: published, get } = await setup();
    server.expire(published.url, 410);
    const image = get('IMG');
    const d = image.media[0];
    if (!d) throw new Error('no media');
    const out = await readAll(await h.plugin.downloadMedia(h.ctx, d, image));
    expect(Buffer.compare(Buffer.from(out), Buffer.from(imagePlain))).toBe(0);
    expect(h.fake.last?.reuploadRequests).toEqual(['IMG']);
    await h.plugin.close();
  });

  test('expired and lost on the phone (404) → MediaError with the reason, asked once', async () => {
    const { h, voice: published, get } = await setup();
    server.expire(published.url, 404, { reuploadable: false });
    const voice = get('VOICE');
    const d = voice.media[0];
    if (!d) throw new Error('no media');
    const failure = await h.plugin.downloadMedia(h.ctx, d, voice).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MediaError);
    expect((failure as MediaError).retryable).toBe(false);
    expect(isSyncError(failure) && failure.details?.whatsapp).toBe('reupload_failed');
    expect(h.fake.last?.reuploadRequests).toEqual(['VOICE']);
    await h.plugin.close();
  });

  test('a descriptor without a WhatsApp key is refused with a typed error', async () => {
    const { h, get } = await setup();
    const failure = await h.plugin
      .downloadMedia(h.ctx, { url: 'http://x' }, get('IMG'))
      .catch((e: unknown) => e);
    expect((failure as MediaError).reason).toBe('no-source');
    await h.plugin.close();
  });

  test('a media URL a contact chose is checked like any other: refused with its reason, never fetched', async () => {
    const { h, get } = await setup();
    const image = get('IMG');
    const d = image.media[0];
    if (!d?.key || typeof d.key !== 'object' || Array.isArray(d.key)) throw new Error('no media key');
    const hits = [...server.hits.values()].reduce((a, b) => a + b, 0);
    const cases: [Record<string, string | null>, MediaRefusal][] = [
      [{ url: 'file:///etc/passwd', directPath: null }, 'scheme'],
      [{ url: 'http://169.254.169.254/latest/meta-data/', directPath: null }, 'scheme'],
      [{ url: 'https://169.254.169.254/latest/meta-data/', directPath: null }, 'address'],
      [{ url: 'https://[::ffff:127.0.0.1]/v/t62/x.enc', directPath: null }, 'address'],
      [{ url: 'https://mmg.whatsapp.net.evil.test/v/t62/x.enc', directPath: null }, 'host'],
      [{ url: null, directPath: '@evil.test/v/t62/x.enc' }, 'host'],
      [{ url: `${server.origin.replace('127.0.0.1', 'localhost')}/v/t62/x.enc`, directPath: null }, 'scheme'],
    ];
    for (const [location, reason] of cases) {
      const crafted = { ...d, key: { ...d.key, ...location } };
      const failure = await h.plugin
        .downloadMedia(h.ctx, crafted, image)
        .then(readAll)
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(MediaRefusedError);
      expect((failure as MediaRefusedError).reason).toBe(reason);
    }
    expect([...server.hits.values()].reduce((a, b) => a + b, 0)).toBe(hits);
    await h.plugin.close();
  });
});
