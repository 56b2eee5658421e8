import { createDiscordPlugin } from '@omni/channel-discord';
import type { WorkerRuntime } from '@omni/runtime';
import { MediaFetcher } from '@omni/sync-core';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { API_KEY, createTestApp, startTestWorker, type TestApp } from '../helpers.ts';

/** A JSON body of the API under test, read as the tests need it. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions, not the compiler
export type Json = any;

/**
 * omni-sync as a new user runs it against Omni's SDK: the real app listening on a port, the
 * real worker runtime and Discord plugin, a fake Discord behind them.
 */
export interface OmniWorld {
  t: TestApp;
  fake: FakeDiscord;
  runtime: WorkerRuntime;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** `fetch` on `/api/v2…` with the key (unless `key: null`). */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; key?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: Json }>;
  /** Polls a job until it is over; its detail. */
  waitForJob(instanceId: string, jobId: string): Promise<Record<string, Json>>;
  close(): Promise<void>;
}

/** Starts an {@link OmniWorld}; `corsOrigins` go to the app. */
export async function startOmniWorld(corsOrigins: string[] = []): Promise<OmniWorld> {
  const fake = await FakeDiscord.start({
    data: mixedScenario({ scale: 0.2 }),
    messageRateLimit: { limit: 1000, windowMs: 1000 },
    globalRateLimit: { limit: 1000, windowMs: 1000 },
    routeRateLimit: { limit: 1000, windowMs: 1000 },
  });
  const t = await createTestApp(
    [createDiscordPlugin({ api: fake.apiUrl, historyRequestsPerWindow: 1000, historyWindowMs: 1000 })],
    { corsOrigins },
  );
  await t.deps.settings.update({
    'sync.discord.messagesPerMinute': 60_000,
    'sync.discord.contactsPerMinute': 60_000,
  });
  const runtime = await startTestWorker(t, {
    // The fake serves attachments on 127.0.0.1: passed as `MEDIA_ALLOW_ORIGINS` would pass it.
    mediaFetcher: new MediaFetcher({ settings: t.deps.settings, allowOrigins: [fake.url] }),
  });
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = address.replace('localhost', '127.0.0.1');
  const call: OmniWorld['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const key = options.key === undefined ? API_KEY : options.key;
    if (key !== null) headers['x-api-key'] = key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}/api/v2${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, headers: res.headers, body };
  };
  return {
    t,
    fake,
    runtime,
    baseUrl,
    call,
    async waitForJob(instanceId, jobId) {
      for (;;) {
        const job = (await call('GET', `/instances/${instanceId}/sync/${jobId}`)).body.data;
        if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await runtime.stop();
      await t.close();
      await fake.stop();
    },
  };
}
