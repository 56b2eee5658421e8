/**
 * Child process for the kill-mid-write test: streams media into MediaStorageService, prints
 * `written <n>` after each chunk reached the temp file, and hangs after the second chunk so the
 * parent can SIGKILL it in the middle of a write.
 */
import { createDb } from '@omni/db';
import { MediaStorageService } from '../../src/index.ts';

const [url, basePath, instanceId, messageId] = process.argv.slice(2) as [string, string, string, string];
const { db } = await createDb({ databaseUrl: url, migrate: false });
const media = new MediaStorageService(db, {
  basePath,
  maxFileSizeBytes: 10_000_000,
  allowedMimeTypes: ['*/*'],
});

async function* slow(): AsyncGenerator<Uint8Array> {
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  );
  yield png;
  for (let i = 1; ; i += 1) {
    console.log(`written ${i}`);
    if (i >= 2) await new Promise(() => {});
    yield new Uint8Array(65_536).fill(i);
  }
}

await media.store({
  instanceId,
  messageId,
  sentAt: Date.UTC(2026, 2, 15),
  descriptor: { mimeType: 'image/png' },
  bytes: slow(),
});
console.log('done');
