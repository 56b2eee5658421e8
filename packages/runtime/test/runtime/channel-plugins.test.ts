import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SlackPlugin } from '@omni/channel-slack';
import { createTestDb, type TestDb } from '@omni/db/testing';
import { loadChannelPlugins, openServices, type Services } from '../../src/index.ts';

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
let db: TestDb;
let services: Services;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDb('postgres');
  dataDir = mkdtempSync(join(tmpdir(), 'omni-plugins-'));
}, 60_000);
afterAll(async () => {
  await services?.close();
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

test('every process loads Discord and Slack from the environment; Slack follows sync.slack.appTier once the services hand it the settings', async () => {
  const plugins = loadChannelPlugins({
    SLACK_API_URL: 'http://127.0.0.1:9/api',
    SLACK_FILE_HOSTS: 'files.example, 127.0.0.1:9',
    SLACK_TIER_WINDOW_MS: '500',
  });
  expect(plugins.map((p) => p.id)).toEqual(['discord', 'slack']);
  const slack = plugins[1] as SlackPlugin;
  expect(slack.options.apiUrl).toBe('http://127.0.0.1:9/api/');
  expect(slack.options.fileHosts).toEqual(['files.example', '127.0.0.1:9']);
  expect(slack.options.tierWindowMs).toBe(500);
  expect(await slack.appTier()).toBe('internal');

  services = await openServices({
    databaseUrl: db.url!,
    natsUrl: undefined,
    dataDir,
    name: 'plugins',
    plugins,
    log: silentLog,
  });
  expect(services.plugins.get('slack')).toBe(slack);
  await services.settings.update({ 'sync.slack.appTier': 'unlisted' });
  expect(await slack.appTier()).toBe('unlisted');
});
