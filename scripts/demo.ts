/**
 * `bun run demo`: the whole flow without any account. Starts a fake Discord with a sample guild
 * (Discord's own rate limits), the service on the embedded default (PGlite, in-process worker) in
 * a throw-away data folder, creates and connects an instance, turns media on, syncs 30 days and
 * follows it with the CLI's live progress bar. Ctrl-C stops everything.
 * `bun run demo --channel slack` does the same against a fake Slack workspace (Slack's own tiers,
 * real 60 s windows: the sample is small enough to stay inside them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, runCli } from '@omni/cli';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { FakeSlack } from '@omni/testkit/slack';

const root = join(import.meta.dir, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'omni-demo-'));
const apiKey = 'demo-key';
const keep = process.argv.includes('--keep');

const channelArg = process.argv.indexOf('--channel');
const channel = channelArg >= 0 ? process.argv[channelArg + 1] : 'discord';
if (channel !== 'discord' && channel !== 'slack') {
  console.error('usage: bun run demo [--channel discord|slack] [--keep]');
  process.exit(2);
}
const fake =
  channel === 'slack'
    ? await FakeSlack.start({
        data: {
          teamName: 'Demo Workspace',
          channels: [
            {
              name: 'general',
              messageCount: 400,
              threadEvery: 10,
              repliesPerThread: 3,
              fileEvery: 15,
              editEvery: 9,
              changeEvery: 23,
              tombstoneEvery: 4,
            },
            { name: 'random', messageCount: 120, member: false },
            { name: 'design', type: 'private_channel', messageCount: 150, fileEvery: 10 },
            { name: 'dm', type: 'im', messageCount: 60, threadEvery: 0 },
          ],
        },
      })
    : await FakeDiscord.start({ data: mixedScenario({ nowMs: Date.now() }) });
const platformEnv: Record<string, string> =
  channel === 'slack'
    ? { SLACK_API_URL: fake.apiUrl, SYNC_SLACK_MESSAGES_PER_MINUTE: '600' }
    : {
        DISCORD_API_URL: fake.apiUrl,
        // The engine's default budget (50 requests/min) would make the demo take minutes; the plugin
        // still paces itself under Discord's own limits (5 per 5 s per channel, 50/s), as the 429 count shows.
        SYNC_DISCORD_MESSAGES_PER_MINUTE: '600',
      };
const port = 20_000 + Math.floor(Math.random() * 20_000);
const baseUrl = `http://127.0.0.1:${port}`;
const service = Bun.spawn(['bun', 'apps/api/src/main.ts'], {
  cwd: root,
  env: {
    ...process.env,
    DATABASE_URL: '',
    NATS_URL: '',
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    API_KEY: apiKey,
    ...platformEnv,
    // The fake serves attachments on 127.0.0.1: the one documented exception to the media checks.
    MEDIA_ALLOW_ORIGINS: fake.url,
    LOG_LEVEL: 'warn',
  },
  stdout: 'ignore',
  stderr: 'inherit',
});

async function stop(code: number): Promise<never> {
  service.kill('SIGTERM');
  await Promise.race([service.exited, Bun.sleep(5000)]);
  await fake.stop();
  if (!keep) rmSync(dataDir, { recursive: true, force: true });
  else console.log(`data kept in ${dataDir}`);
  process.exit(code);
}
process.on('SIGINT', () => void stop(130));

const say = (text: string) => console.log(`\n▸ ${text}`);
const api = new ApiClient({ baseUrl, apiKey });

say(`fake ${channel} at ${fake.apiUrl}; starting omni-sync on ${baseUrl} (embedded PGlite in ${dataDir})`);
const started = Date.now();
for (;;) {
  const health = await fetch(`${baseUrl}/api/v2/health`).catch(() => null);
  if (health?.ok) break;
  if (Date.now() - started > 60_000 || service.exitCode !== null) {
    console.error('the service did not start');
    await stop(1);
  }
  await Bun.sleep(250);
}

try {
  say(`POST /instances {name, channel: ${channel}}`);
  const instance = await api.call<{ id: string }>('POST', '/instances', {
    name: `demo-${Date.now()}`,
    channel,
  });
  say(`POST /instances/${instance.id}/connect {token} — validates the token and syncs the profile`);
  await api.call('POST', `/instances/${instance.id}/connect`, { token: fake.token });
  await runCli(['profile', instance.id, '--url', baseUrl, '--api-key', apiKey], cliIo());
  say('PATCH /instances/:id {downloadMediaOnSync: true}');
  await api.call('PATCH', `/instances/${instance.id}`, { downloadMediaOnSync: true });
  say('POST /instances/:id/sync {type: messages, depth: 30d} — following the job over SSE');
  const code = await runCli(
    ['sync', instance.id, '--depth', '30d', '--url', baseUrl, '--api-key', apiKey],
    cliIo(),
  );
  const messages = await api.call<{ items: { id: string; mediaLocalPath?: string | null }[] }>(
    'GET',
    `/instances/${instance.id}/messages?limit=5`,
  );
  say(`GET /instances/:id/messages → ${messages.items.length} shown of the stored history`);
  say(`fake ${channel} answered ${fake.stats.requests} requests and ${fake.stats.status429} 429s`);
  await stop(code);
} catch (error) {
  console.error(error);
  await stop(1);
}

function cliIo() {
  return {
    out: (line: string) => console.log(line),
    err: (text: string) => process.stderr.write(text),
    isTty: Boolean(process.stderr.isTTY),
    env: process.env,
  };
}
