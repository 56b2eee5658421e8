import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { SyncDepth } from '@omni/db';
import { createTestDb, type TestDb } from '@omni/db/testing';
import {
  type ChatInfo,
  chatId,
  DedupeWriter,
  fixedRateSource,
  HistoryIngestor,
  instanceId,
  JobRepository,
  PluginRegistry,
  RateLimiter,
  readCoverage,
  readProgress,
  SyncRunner,
  uncoveredGaps,
} from '@omni/sync-core';
import {
  createFakeSocketFactory,
  type FakeWhatsAppScenario,
  generateTextHistory,
} from '@omni/testkit/whatsapp';
import { MemoryAuthStateStore } from '../src/auth/auth-state-store.ts';
import { createWhatsAppPlugin } from '../src/whatsapp-plugin.ts';

const DAY = 86_400;
const NOW = Math.floor(Date.now() / 1000) - 60;
const ME = { id: '15559990000@s.whatsapp.net', name: 'Me' };
const ALICE = '15550001111@s.whatsapp.net';
const CAROL = '15550003333@s.whatsapp.net';

describe('incremental WhatsApp sync through SyncRunner on Postgres', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('postgres');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  const count = async (instance: string, chat: string) =>
    Number(
      (
        await t.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('instance_id', '=', instance)
          .where('chat_external_id', '=', chat)
          .executeTakeFirstOrThrow()
      ).n,
    );

  test('a 30d after a 7d sync pages only from the 7d edge back; a re-run asks nothing; the only gap left is the tail, which arrives pushed', async () => {
    const row = await t.db
      .insertInto('instances')
      .values({ name: 'wa-coverage', channel: 'whatsapp-baileys' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = instanceId(row.id);
    const alice = generateTextHistory({
      chat: ALICE,
      count: 500,
      newest: NOW,
      spacing: 7_200,
      idPrefix: 'A',
    });
    const carol = generateTextHistory({ chat: CAROL, count: 80, newest: NOW, spacing: 3_600, idPrefix: 'C' });
    const scenario: FakeWhatsAppScenario = {
      me: ME,
      chats: [
        { jid: ALICE, name: 'Alice', messages: alice },
        { jid: CAROL, name: 'Carol', messages: carol },
      ],
      bootstrapSince: NOW - 2 * DAY,
    };
    const storedChats = async (instance: string): Promise<ChatInfo[]> =>
      (
        await t.db
          .selectFrom('chats')
          .select(['external_id', 'alt_external_id', 'name', 'kind'])
          .where('instance_id', '=', instance)
          .execute()
      ).map((c) => ({
        id: chatId(c.external_id),
        altId: c.alt_external_id,
        name: c.name,
        kind: c.kind ?? 'dm',
        readable: true,
      }));
    const sockets = createFakeSocketFactory(scenario);
    const plugin = createWhatsAppPlugin({
      socketFactory: sockets.factory,
      authStore: new MemoryAuthStateStore(),
      storedChats,
      onDemandTimeoutMs: 2_000,
    });
    const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
    plugin.setHistoryHandler(async (chunk) => {
      await ingestor.ingest(chunk);
    });
    await plugin.connect(id);
    await plugin.flush(id);
    const jobs = new JobRepository(t.db);
    const runner = new SyncRunner({
      db: t.db,
      plugins: new PluginRegistry([plugin]),
      limiter: new RateLimiter({ rates: fixedRateSource({}) }),
    });
    const requests = () => sockets.sockets.reduce((n, s) => n + s.historyRequests.length, 0);
    const sync = async (depth: SyncDepth) => {
      const before = sockets.sockets.flatMap((s) => s.historyRequests).length;
      const { job } = await jobs.createJob(id, 'messages', { depth });
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      const progress = readProgress(result?.job?.progress);
      const asked = sockets.sockets.flatMap((s) => s.historyRequests).slice(before);
      return {
        progress,
        asked,
        since: Date.parse(progress.window!.since!),
        until: Date.parse(progress.window!.until),
      };
    };
    const inRange = (list: typeof alice, since: number) =>
      list.filter((m) => Number(m.messageTimestamp) * 1000 >= since).length;

    const week = await sync('7d');
    expect(await count(id, ALICE)).toBe(inRange(alice, week.since));
    const month = await sync('30d');
    expect(await count(id, ALICE)).toBe(inRange(alice, month.since));
    expect(await count(id, CAROL)).toBe(80);
    // Only 7d..30d was asked for: every request pages back from at or below the 7d edge.
    expect(month.asked.length).toBeGreaterThan(0);
    for (const r of month.asked) expect(r.timestampMs).toBeLessThan(week.since + 7_200_000);
    const olderAlice = inRange(alice, month.since) - inRange(alice, week.since);
    expect(month.asked.length).toBeLessThanOrEqual(Math.ceil(olderAlice / 50) + 1);

    const before = requests();
    const again = await sync('30d');
    expect(requests() - before).toBe(0);
    expect(again.progress.stored).toBe(0);
    const ledger = await readCoverage(t.db, id);
    // Alice is covered from 30d back to the 7d sync's end. What is newer cannot be asked of the phone
    // (it pages only backwards from a stored message): it arrives pushed, so it stays the one gap.
    expect(uncoveredGaps(ledger.get(ALICE) ?? [], month.since, again.until)).toEqual([
      { from: week.until, to: again.until },
    ]);
    // Carol's history begins inside the window.
    expect(ledger.get(CAROL)?.[0]?.fromReason).toBe('exhausted');
    await plugin.close();
  }, 60_000);
});
