import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { parseSseBlock, renderProgress, runCli } from '../src/index.ts';

/** A stand-in service speaking the API's wire format, to check the CLI's side of it. */
let server: ReturnType<typeof Bun.serve>;
const seen: { method: string; path: string; body: unknown; key: string | null }[] = [];
let polls = 0;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === 'POST' && req.headers.get('content-type') ? await req.json() : null;
      seen.push({ method: req.method, path: url.pathname, body, key: req.headers.get('x-api-key') });
      const json = (value: unknown, status = 200) => Response.json(value, { status });
      if (req.headers.get('x-api-key') !== 'k1')
        return json({ error: { code: 'UNAUTHORIZED', message: 'bad key' } }, 401);
      if (url.pathname === '/api/v2/instances/i1/sync' && req.method === 'POST') {
        return json(
          {
            data: {
              jobId: 'j1',
              instanceId: 'i1',
              type: 'messages',
              status: 'pending',
              config: {},
              message: 'queued',
            },
          },
          202,
        );
      }
      if (url.pathname === '/api/v2/instances/i1/sync/j1') {
        polls += 1;
        const done = polls > 1;
        return json({
          data: {
            jobId: 'j1',
            type: 'messages',
            status: done ? 'completed' : 'running',
            progressPercent: done ? 100 : 10,
            progress: {
              stored: done ? 300 : 30,
              fetched: done ? 300 : 30,
              chatsTotal: 3,
              chatsDone: done ? 3 : 0,
            },
          },
        });
      }
      if (url.pathname === '/api/v2/instances/i1/sync/j1/events') {
        const events = [
          {
            event: 'sync.progress',
            data: {
              status: 'running',
              progressPercent: 50,
              progress: { stored: 150, fetched: 150, chatsTotal: 3, chatsDone: 1 },
            },
          },
          {
            event: 'sync.paused',
            data: {
              status: 'running',
              progressPercent: 50,
              at: '2026-12-06T12:03:30.000Z',
              until: '2026-12-06T12:03:40.000Z',
              reason: 'cooldown',
              progress: { stored: 150, fetched: 150, chatsTotal: 3, chatsDone: 1, estimatedTotal: 300 },
            },
          },
          {
            event: 'sync.progress',
            data: {
              status: 'running',
              progressPercent: 75,
              at: '2026-12-06T12:03:41.000Z',
              progress: { stored: 250, fetched: 250, chatsTotal: 3, chatsDone: 2, estimatedTotal: 300 },
            },
          },
          {
            event: 'sync.completed',
            data: {
              status: 'completed',
              progressPercent: 100,
              progress: { stored: 300, fetched: 300, chatsTotal: 3, chatsDone: 3 },
            },
          },
        ];
        const text = events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join('');
        return new Response(`: hello\n\n${text}`, { headers: { 'content-type': 'text/event-stream' } });
      }
      if (url.pathname === '/api/v2/instances' && req.method === 'POST') {
        const { name, channel } = body as { name: string; channel: string };
        return json({ data: { id: 'i2', name, channel, connectionState: 'disconnected' } }, 201);
      }
      if (url.pathname === '/api/v2/instances/i2/connect' && req.method === 'POST') {
        const token = (body as { token?: string }).token;
        if (token !== 'xoxb-1')
          return json({ error: { code: 'INVALID_CREDENTIALS', message: 'refused' } }, 422);
        return json({ data: { id: 'i2', connectionState: 'open', profileName: 'bot' } });
      }
      if (url.pathname === '/api/v2/instances/missing')
        return json({ error: { code: 'NOT_FOUND', message: 'no such instance' } }, 404);
      return json({ error: { code: 'NOT_FOUND', message: 'route' } }, 404);
    },
  });
});
afterAll(() => server.stop(true));

function io() {
  const out: string[] = [];
  let err = '';
  return {
    out,
    get err() {
      return err;
    },
    io: {
      out: (line: string) => out.push(line),
      err: (text: string) => {
        err += text;
      },
      isTty: false,
      env: { OMNI_URL: `http://127.0.0.1:${server.port}`, OMNI_API_KEY: 'k1' },
    },
  };
}

describe('omni-sync CLI', () => {
  test('sync starts a job with the options given and follows it to completion', async () => {
    const t = io();
    const code = await runCli(['sync', 'i1', '--depth', '30d', '--media', '--channel', 'c9'], t.io);
    expect(code).toBe(0);
    const post = seen.find((s) => s.method === 'POST');
    expect(post?.body).toEqual({ type: 'messages', depth: '30d', channelId: 'c9', downloadMedia: true });
    expect(post?.key).toBe('k1');
    expect(t.out[0]).toBe('job j1 pending — queued');
    expect(t.err).toContain(' 50% running | msgs 150 stored');
    // A sync.paused event shows until when and why; the next event after that time clears it.
    const lines = t.err.split('\n');
    expect(lines).toContain(
      '[############------------]  50% running | msgs 150 stored / 150 fetched of ~300, 0 dup | chats 1/3 | media 0 (0 B) | waits 0 (0s) | paused until 12:03:40 UTC (rate limit)',
    );
    const after = lines.find((l) => l.includes(' 75% running'));
    expect(after).toContain('msgs 250 stored / 250 fetched of ~300');
    expect(after).not.toContain('paused');
    expect(t.err).toContain('100% completed | msgs 300 stored');
    expect(t.out.at(-1)).toBe('job j1 completed');
  });

  test('create and connect a slack instance: the token from --token or OMNI_CONNECT_TOKEN', async () => {
    const t = io();
    expect(await runCli(['create', 'ws', 'slack'], t.io)).toBe(0);
    expect(seen.at(-1)?.body).toEqual({ name: 'ws', channel: 'slack' });
    expect(t.out.at(-1)).toBe('i2  slack  ws');
    expect(await runCli(['connect', 'i2', '--token', 'xoxb-1'], t.io)).toBe(0);
    expect(t.out.at(-1)).toBe('i2  open  bot');
    const e = io();
    const env: Record<string, string | undefined> = { ...e.io.env, OMNI_CONNECT_TOKEN: 'xoxb-1' };
    expect(await runCli(['connect', 'i2'], { ...e.io, env })).toBe(0);
    expect(seen.at(-1)?.body).toEqual({ token: 'xoxb-1' });
    const bad = io();
    expect(await runCli(['connect', 'i2', '--token', 'nope'], bad.io)).toBe(1);
    expect(bad.err).toContain('422 INVALID_CREDENTIALS');
  });

  test('API errors print their code and exit 1; usage errors exit 2', async () => {
    const t = io();
    expect(await runCli(['profile', 'missing'], t.io)).toBe(1);
    expect(t.err).toContain('error 404 NOT_FOUND: no such instance');
    const u = io();
    expect(await runCli(['cancel', 'i1'], u.io)).toBe(2);
    expect(await runCli(['frobnicate'], u.io)).toBe(2);
    expect(u.err).toContain('unknown command');
    const k = io();
    k.io.env.OMNI_API_KEY = 'wrong';
    expect(await runCli(['instances'], k.io)).toBe(1);
    expect(k.err).toContain('401 UNAUTHORIZED');
  });

  test('ids are sent as one path segment: a slash or a dot segment cannot reach another route', async () => {
    seen.length = 0;
    expect(await runCli(['coverage', '../../settings'], io().io)).toBe(1);
    expect(await runCli(['show', 'i1', 'j1/../../../../settings'], io().io)).toBe(1);
    expect(seen.map((s) => s.path)).toEqual([
      '/api/v2/instances/..%2F..%2Fsettings/coverage',
      '/api/v2/instances/i1/sync/j1%2F..%2F..%2F..%2F..%2Fsettings',
    ]);
    const u = io();
    expect(await runCli(['cancel', 'i1', '..'], u.io)).toBe(2);
    expect(await runCli(['jobs', '.'], u.io)).toBe(2);
    expect(u.err).toContain('is not an id');
    expect(seen).toHaveLength(2);
  });

  test('the progress line shows messages, chats, media, waits and ETA', () => {
    const line = renderProgress(
      {
        status: 'running',
        progressPercent: 25,
        progress: {
          stored: 1200,
          fetched: 1300,
          duplicates: 100,
          chatsTotal: 8,
          chatsDone: 2,
          chatsExhausted: 1,
          mediaDownloaded: 5,
          mediaBytes: 3 * 1024 * 1024,
          mediaSkipped: 2,
          rateLimitWaits: 3,
          rateLimitWaitMs: 65_000,
          etaSeconds: 3725,
        },
      },
      8,
    );
    expect(line).toBe(
      '[##------]  25% running | msgs 1,200 stored / 1,300 fetched, 100 dup | chats 2/8 (1 exhausted) | media 5 (3.0 MiB) 2 skipped | waits 3 (1m05s) | ETA 1h02m05s',
    );
    // With the plan's total: "of ~N", or "of ≥N" when some chats had no basis for an estimate.
    const total = (unestimatedChats: number) =>
      renderProgress({
        status: 'running',
        progressPercent: 25,
        progress: { stored: 10, fetched: 10, estimatedTotal: 4000, unestimatedChats },
      });
    expect(total(0)).toContain('msgs 10 stored / 10 fetched of ~4,000, 0 dup');
    expect(total(2)).toContain('msgs 10 stored / 10 fetched of ≥4,000, 0 dup');
  });

  test('SSE blocks parse with event names, multi-line data and comments', () => {
    expect(parseSseBlock('event: sync.progress\ndata: {"a":1}')).toEqual({
      event: 'sync.progress',
      data: { a: 1 },
    });
    expect(parseSseBlock('data: line1\ndata: line2')).toEqual({ event: 'message', data: 'line1\nline2' });
    expect(parseSseBlock(': keep-alive')).toBeNull();
  });
});
