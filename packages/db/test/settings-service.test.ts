import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DbError, SettingsService } from '../src/index.ts';
import { createTestDb, TEST_ENGINES, type TestDb } from '../src/testing.ts';

for (const engine of TEST_ENGINES) {
  describe(`SettingsService on ${engine}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await createTestDb(engine);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    test("defaults are the seed's", async () => {
      const values = await new SettingsService(t.db, { env: {} }).values();
      expect(values).toEqual({
        'sync.whatsapp.messagesPerMinute': 30,
        'sync.whatsapp.contactsPerMinute': 60,
        'sync.discord.messagesPerMinute': 50,
        'sync.discord.contactsPerMinute': 100,
        'sync.slack.messagesPerMinute': 100,
        'sync.slack.contactsPerMinute': 100,
        'sync.slack.appTier': 'internal',
        'sync.defaultDepth': '7d',
        'sync.chatConcurrency': 4,
        'sync.profile.scheduleEnabled': true,
        'sync.profile.scheduleCron': '0 4 * * *',
        'sync.contacts.scheduleEnabled': true,
        'sync.catchup.enabled': true,
        'sync.contacts.scheduleCron': '0 3 * * *',
        'media.storagePath': expect.stringMatching(/media$/),
        'media.maxFileSizeMb': 100,
        'media.allowedMimeTypes': ['image/*', 'audio/*', 'video/*', 'application/pdf'],
        'sync.maxPendingJobsPerInstance': 20,
        'media.downloadTimeoutSeconds': 120,
      });
    });

    test('updates are validated, all or nothing', async () => {
      const settings = new SettingsService(t.db, { env: {} });
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ 'sync.profile.scheduleCron': 'every day' }, /not a valid cron/],
        // croner reads a seconds field (and a year): every second, for every instance.
        [{ 'sync.profile.scheduleCron': '* * * * * *' }, /five fields/],
        [{ 'sync.contacts.scheduleCron': '* * * * * * *' }, /five fields/],
        [{ 'sync.contacts.scheduleCron': '0 0 31 2 *' }, /never fires/],
        [{ 'sync.discord.messagesPerMinute': -5 }, /greater than 0/],
        [{ 'sync.discord.messagesPerMinute': '50' }, /requests per minute/],
        [{ 'sync.defaultDepth': '2w' }, /one of 7d, 30d, 90d, 1y, all/],
        [{ 'media.allowedMimeTypes': ['image/*', 'nonsense'] }, /MIME types/],
        [{ 'media.downloadTimeoutSeconds': 0 }, /seconds from 1 to 3600/],
        [{ 'sync.unknown': 1 }, /not a known setting/],
        [{ 'sync.defaultDepth': '30d', 'media.maxFileSizeMb': 0 }, /MiB/],
        [{ 'media.storagePath': '/' }, /deploy time \(environment variable MEDIA_STORAGE_PATH\)/],
        [{ 'sync.maxPendingJobsPerInstance': 0 }, /whole number of jobs/],
        [{ 'sync.maxPendingJobsPerInstance': 2.5 }, /whole number of jobs/],
      ];
      for (const [patch, message] of cases) {
        const error = await settings.update(patch).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DbError);
        expect((error as DbError).message).toMatch(message);
        expect(['INVALID_SETTING', 'UNKNOWN_SETTING']).toContain((error as DbError).code);
      }
      expect(await settings.get('sync.defaultDepth')).toBe('7d');
    });

    test('valid updates persist and other readers see them without a restart', async () => {
      const writer = new SettingsService(t.db, { env: {} });
      const reader = new SettingsService(t.db, { env: {}, cacheTtlMs: 0 });
      expect(await reader.get('sync.discord.messagesPerMinute')).toBe(50);
      await writer.update({
        'sync.discord.messagesPerMinute': 120,
        'media.allowedMimeTypes': ['image/png'],
        'sync.contacts.scheduleCron': '*/5 * * * *',
      });
      expect(await reader.get('sync.discord.messagesPerMinute')).toBe(120);
      expect(await reader.get('media.allowedMimeTypes')).toEqual(['image/png']);
      const view = (await reader.list()).find((v) => v.key === 'sync.contacts.scheduleCron');
      expect(view).toMatchObject({ value: '*/5 * * * *', source: 'database', defaultValue: '0 3 * * *' });
    });

    test('environment variables override stored values; a bad one is refused at start', async () => {
      const settings = new SettingsService(t.db, {
        env: { SYNC_DISCORD_MESSAGES_PER_MINUTE: '7', MEDIA_ALLOWED_MIME_TYPES: 'image/*,video/mp4' },
      });
      expect(await settings.get('sync.discord.messagesPerMinute')).toBe(7);
      expect(await settings.get('media.allowedMimeTypes')).toEqual(['image/*', 'video/mp4']);
      expect((await settings.list()).find((v) => v.key === 'sync.discord.messagesPerMinute')?.source).toBe(
        'env',
      );
      expect(() => new SettingsService(t.db, { env: { SYNC_DEFAULT_DEPTH: 'forever' } })).toThrow(
        /SYNC_DEFAULT_DEPTH/,
      );
    });
  });
}
