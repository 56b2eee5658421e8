import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OmniWorld, startOmniWorld } from '../contract/omni-world.ts';
import { API_KEY, auth } from '../helpers.ts';

/**
 * A dashboard-like static page on another origin drives omni-sync in headless Chromium (Debian's
 * `chromium` package): login, instances, a sync, chats, messages, and an `<img>` through
 * `?api_key=`. Chromium missing is a failure, not a skip: `.ci/run` installs it.
 */
const PAGE = await Bun.file(join(import.meta.dir, 'dashboard-page.html')).text();
/** A 2×1 PNG, so the browser has pixels to decode. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAAEUlEQVR4nGP4z8DwHwyBNAMAPr4D/SqmqUwAAAAASUVORK5CYII=',
  'base64',
);

let w: OmniWorld;
let page: ReturnType<typeof Bun.serve>;
let browser: ReturnType<typeof Bun.spawn> | null = null;
let profile: string;
/** What the page reports: each step's outcome, or the error that stopped it. */
interface PageResult {
  ok: boolean;
  steps: Record<string, unknown>;
  error?: string;
}
let settle: (value: PageResult) => void;
const result = new Promise<PageResult>((r) => {
  settle = r;
});

/**
 * The fake Discord's images are a PNG signature and noise, which storage rightly does not confirm
 * as PNG (kept as `.bin`, served as bytes): give the stored images real pixels and their `.png`
 * name, as a real Discord image would have had.
 */
async function decodableImages(): Promise<number> {
  const rows = await w.t.db.db
    .selectFrom('messages')
    .select(['id', 'media_local_path'])
    .where('media_mime_type', '=', 'image/png')
    .where('media_local_path', 'is not', null)
    .execute();
  for (const row of rows) {
    const old = row.media_local_path as string;
    const renamed = old.replace(/\.[a-z0-9]+$/, '.png');
    writeFileSync(join(w.t.mediaDir, renamed), PNG);
    if (renamed !== old) rmSync(join(w.t.mediaDir, old), { force: true });
    await w.t.db.db
      .updateTable('messages')
      .set({ media_local_path: renamed })
      .where('id', '=', row.id)
      .execute();
  }
  return rows.length;
}

beforeAll(async () => {
  page = Bun.serve({
    hostname: '127.0.0.2',
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url);
      if (url.pathname === '/synced') return new Response(String(await decodableImages()));
      if (url.pathname === '/result') {
        settle((await request.json()) as PageResult);
        return new Response('ok');
      }
      return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    },
  });
  w = await startOmniWorld([`http://127.0.0.2:${page.port}`]);
  const connected = await w.t.app.inject({
    method: 'POST',
    url: '/api/v2/instances',
    headers: auth,
    payload: { name: 'dashboard', channel: 'discord' },
  });
  await w.call('POST', `/instances/${connected.json().data.id}/connect`, { body: { token: w.fake.token } });
  profile = mkdtempSync(join(tmpdir(), 'omni-chromium-'));
}, 120_000);

afterAll(async () => {
  browser?.kill();
  await browser?.exited;
  page?.stop(true);
  await w?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
}, 60_000);

test('the dashboard page on another origin logs in, syncs, lists chats and messages and shows an image', async () => {
  const chromium = Bun.which('chromium') ?? Bun.which('chromium-browser');
  if (!chromium) throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does it)');
  const url = `http://127.0.0.2:${page.port}/?api=${encodeURIComponent(w.baseUrl)}&key=${encodeURIComponent(API_KEY)}`;
  browser = Bun.spawn(
    [
      chromium,
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      url,
    ],
    { stdout: 'ignore', stderr: 'ignore' },
  );
  const outcome: PageResult = await Promise.race([
    result,
    browser.exited.then(
      (code): PageResult => ({ ok: false, steps: {}, error: `chromium exited with ${code}` }),
    ),
  ]);
  expect(outcome.error).toBeUndefined();
  expect(outcome.ok).toBe(true);
  expect(outcome.steps.login).toBe(true);
  expect(outcome.steps.instances).toEqual(['dashboard']);
  expect(outcome.steps.sync).toBe('completed');
  expect(outcome.steps.chats as number).toBeGreaterThan(0);
  expect(outcome.steps.messages as number).toBeGreaterThan(0);
  expect(outcome.steps.imageMessage).toBeString();
  expect(outcome.steps.imageWidth).toBe(2);
}, 180_000);
