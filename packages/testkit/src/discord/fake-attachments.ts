import type { DiscordDataset } from './discord-dataset.ts';
import type { FakeMessageShape } from './message-generator.ts';
import { hash32, intBetween } from './seeded-random.ts';

/** Attachment facts of a message, before a URL is signed. */
export interface FakeAttachmentInfo {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  width?: number;
  height?: number;
  durationSecs?: number;
  waveform?: string;
}

const MAGIC: Record<string, number[]> = {
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37],
  // An Ogg page whose first packet is an Opus header (OpusHead at byte 28).
  'audio/ogg': [
    0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19,
    0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64,
  ],
  'video/mp4': [0x00, 0x00, 0x00, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32],
  // An empty ID3v2 tag, then an MPEG-1 Layer III frame header.
  'audio/mpeg': [0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xfb, 0x90, 0x64],
};

/** Attachment of a message of this shape (voice, image, video, PDF, audio), sizes and metadata from the seed. */
export function attachmentFor(
  shape: FakeMessageShape,
  id: string,
  data: Pick<DiscordDataset, 'seed' | 'maxAttachmentBytes'>,
  chatIndex: number,
  n: number,
): FakeAttachmentInfo | null {
  const seed = data.seed;
  const max = data.maxAttachmentBytes;
  const size = intBetween(Math.min(256, max), max, seed, chatIndex, n, 2);
  switch (shape) {
    case 'voice': {
      const wave = new Uint8Array(intBetween(32, 256, seed, chatIndex, n, 3));
      for (let i = 0; i < wave.length; i++) wave[i] = hash32(seed, chatIndex, n, 4, i) & 0xff;
      return {
        id,
        filename: 'voice-message.ogg',
        contentType: 'audio/ogg',
        size,
        durationSecs: intBetween(1, 120, seed, chatIndex, n, 5) + 0.25,
        waveform: Buffer.from(wave).toString('base64'),
      };
    }
    case 'image':
      return {
        id,
        filename: `image-${n}.png`,
        contentType: 'image/png',
        size,
        width: intBetween(64, 4096, seed, chatIndex, n, 6),
        height: intBetween(64, 4096, seed, chatIndex, n, 7),
      };
    case 'video':
      return {
        id,
        filename: `clip-${n}.mp4`,
        contentType: 'video/mp4',
        size,
        width: 1280,
        height: 720,
        durationSecs: intBetween(1, 300, seed, chatIndex, n, 5),
      };
    case 'pdf':
      return { id, filename: `report-${n}.pdf`, contentType: 'application/pdf', size };
    case 'audio':
      return { id, filename: `track-${n}.mp3`, contentType: 'audio/mpeg', size };
    default:
      return null;
  }
}

/** The bytes of an attachment: a valid magic header for its type (so type sniffing works), then seeded filler. */
export function attachmentBytes(info: FakeAttachmentInfo, datasetSeed: number): Uint8Array {
  const bytes = new Uint8Array(info.size);
  const magic = MAGIC[info.contentType] ?? [];
  const seed = hash32(datasetSeed, Number(BigInt(info.id) & 0xffffffffn));
  for (let i = 0; i < bytes.length; i++) bytes[i] = i < magic.length ? magic[i]! : (seed + i * 31) & 0xff;
  return bytes;
}
