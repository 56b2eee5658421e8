import {
  type HistoryBatch,
  type InstanceId,
  instanceId,
  MediaFetcher,
  type PluginContext,
  type PushedHistory,
  type RequestKind,
} from '@omni/sync-core';
import {
  createFakeSocketFactory,
  type FakeSocketFactory,
  type FakeWhatsAppScenario,
} from '@omni/testkit/whatsapp';
import { MemoryAuthStateStore } from '../src/auth/auth-state-store.ts';
import { createWhatsAppPlugin, type WhatsAppPlugin } from '../src/whatsapp-plugin.ts';
import { SILENT_LOGGER, type WhatsAppPluginOptions } from '../src/whatsapp-plugin-options.ts';

/** A minimal engine context: records request kinds, no pacing. */
export interface TestContext extends PluginContext {
  requests: RequestKind[];
  abort: AbortController;
}

/**
 * A context for `id` whose media goes through the engine's real `MediaFetcher`; `mediaOrigins`
 * are the fake media servers it may reach (what `MEDIA_ALLOW_ORIGINS` says in production).
 */
export function makeContext(id: InstanceId, mediaOrigins: readonly string[] = []): TestContext {
  const abort = new AbortController();
  const requests: RequestKind[] = [];
  const fetcher = new MediaFetcher({ allowOrigins: mediaOrigins });
  return {
    fetchMedia: (url, init) => fetcher.fetch(url, { ...init, signal: init.signal ?? abort.signal }),
    instance: { id, name: 'wa', channel: 'whatsapp-baileys', credentials: null, ownerIdentifier: null },
    signal: abort.signal,
    abort,
    requests,
    log: SILENT_LOGGER,
    request: async (kind, fn) => {
      requests.push(kind);
      return fn();
    },
  };
}

export interface Harness {
  plugin: WhatsAppPlugin;
  fake: FakeSocketFactory;
  store: MemoryAuthStateStore;
  pushed: PushedHistory[];
  id: InstanceId;
  ctx: TestContext;
}

let seq = 0;

/** A plugin over a fake socket playing `scenario`, with a recording history handler. */
export function harness(
  scenario: FakeWhatsAppScenario,
  options: Partial<WhatsAppPluginOptions> = {},
): Harness {
  const fake = createFakeSocketFactory(scenario);
  const store = new MemoryAuthStateStore();
  const plugin = createWhatsAppPlugin({
    socketFactory: fake.factory,
    authStore: store,
    onDemandTimeoutMs: 2_000,
    openTimeoutMs: 2_000,
    reconnectBaseMs: 1,
    reconnectMaxMs: 5,
    ...options,
  });
  const pushed: PushedHistory[] = [];
  plugin.setHistoryHandler(async (batch) => {
    pushed.push(batch);
  });
  seq++;
  const id = instanceId(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`);
  const mediaOrigins = scenario.media ? [scenario.media.origin] : [];
  return { plugin, fake, store, pushed, id, ctx: makeContext(id, mediaOrigins) };
}

export async function collect(iterable: AsyncIterable<HistoryBatch>): Promise<HistoryBatch[]> {
  const out: HistoryBatch[] = [];
  for await (const batch of iterable) out.push(batch);
  return out;
}
