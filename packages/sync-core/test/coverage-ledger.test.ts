import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import {
  buildSyncPlan,
  type CoverageRange,
  DedupeWriter,
  extendCoverage,
  externalMessageId,
  HistoryIngestor,
  instanceId,
  JobRepository,
  leaseOf,
  mergeRanges,
  readCoverage,
  uncoveredGaps,
} from '../src/index.ts';
import { at, msg } from './support/messages.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

const r = (from: number, to: number, fromReason = 'depth', toReason = 'depth') =>
  ({ from, to, fromReason, toReason }) as CoverageRange;

describe('coverage ranges', () => {
  test('merge overlapping and touching ranges; outer edges keep their reasons', () => {
    expect(
      mergeRanges([r(50, 60, 'failed'), r(10, 20, 'exhausted'), r(20, 30), r(25, 40, 'depth', 'live')]),
    ).toEqual([r(10, 40, 'exhausted', 'live'), r(50, 60, 'failed')]);
  });

  test('gaps of a window, newest first; nothing below an exhausted edge', () => {
    expect(uncoveredGaps([], 0, 100)).toEqual([{ from: 0, to: 100 }]);
    expect(uncoveredGaps([r(30, 50), r(60, 70)], 10, 100)).toEqual([
      { from: 70, to: 100 },
      { from: 50, to: 60 },
      { from: 10, to: 30 },
    ]);
    expect(uncoveredGaps([r(0, 90)], 10, 90)).toEqual([]);
    expect(uncoveredGaps([r(0, 50, 'exhausted')], null, 80)).toEqual([{ from: 50, to: 80 }]);
    expect(uncoveredGaps([r(40, 50, 'exhausted')], 10, 50)).toEqual([]);
    expect(uncoveredGaps([r(40, 50)], null, 50)).toEqual([{ from: 0, to: 40 }]);
  });
});

for (const engine of TEST_ENGINES) {
  describe(`coverage ledger written with the batch on ${engine}`, () => {
    let t: TestDb;
    let writer: DedupeWriter;
    let jobs: JobRepository;
    beforeAll(async () => {
      t = await testDb(engine);
      writer = new DedupeWriter(t.db);
      jobs = new JobRepository(t.db);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    const jobChat = async (inst: string, chat: string) => {
      const { job } = await jobs.createJob(inst, 'messages', { depth: 'all', chat });
      await t.db
        .insertInto('sync_job_chats')
        .values({ job_id: job.id, chat_id: chat, chat_name: null })
        .execute();
      return leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
    };

    test('each batch extends the ledger in its own statement; adjacent spans merge into one row', async () => {
      const inst = await createInstance(t, 'discord');
      const lease = await jobChat(inst, 'c1');
      const cp = (from: number, to: number, fromReason: 'depth' | 'failed' | 'exhausted') => ({
        lease,
        chatId: 'c1',
        cursor: from,
        coverage: { from, to, fromReason, toReason: 'depth' as const },
      });
      await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'a', at(8))],
        checkpoint: cp(at(8) + 1, at(10), 'failed'),
      });
      await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'b', at(5))],
        checkpoint: cp(at(5) + 1, at(10), 'failed'),
      });
      // An edit makes the batch a transaction of several statements: the ledger joins it.
      await writer.writeBatch({
        instanceId: inst,
        messages: [
          msg('c1', 'c', at(3)),
          { ...msg('c1', 'e', at(4)), kind: 'edit', targetId: externalMessageId('a'), text: 'new' },
        ],
        checkpoint: cp(at(2), at(10), 'depth'),
      });
      // An older, separate span, then the empty last batch of a fetch that reached the beginning.
      await writer.writeBatch({ instanceId: inst, messages: [], checkpoint: cp(0, at(1), 'exhausted') });
      const rows = await t.db
        .selectFrom('chat_coverage')
        .select(['from_at', 'to_at', 'from_reason', 'to_reason'])
        .where('instance_id', '=', inst)
        .orderBy('from_at')
        .execute();
      expect(rows.map((x) => [x.from_at.getTime(), x.to_at.getTime(), x.from_reason, x.to_reason])).toEqual([
        [0, at(1), 'exhausted', 'depth'],
        [at(2), at(10), 'depth', 'depth'],
      ]);
      await writer.writeBatch({ instanceId: inst, messages: [], checkpoint: cp(at(1), at(2), 'depth') });
      expect((await readCoverage(t.db, inst)).get('c1')).toEqual([r(0, at(10), 'exhausted', 'depth')]);
      const count = await t.db
        .selectFrom('chat_coverage')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_id', '=', inst)
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(1);
    });

    test('live messages extend the newest range (edge live) only when it reaches the time the socket opened; others stay stored, uncovered', async () => {
      const inst = await createInstance(t, 'whatsapp-baileys');
      const ingestor = new HistoryIngestor(t.db, new DedupeWriter(t.db));
      await extendCoverage(t.db, inst, 'c3', {
        from: 0,
        to: at(10),
        fromReason: 'exhausted',
        toReason: 'depth',
      });
      const live = (id: string, ts: number, liveSince?: number) =>
        ingestor.ingest({
          instanceId: instanceId(inst),
          syncType: 'LIVE',
          messages: [msg('c3', id, ts)],
          chats: [],
          contacts: [],
          ...(liveSince !== undefined ? { liveSince } : {}),
        });
      // The socket opened after the covered end: what came between is not known to be stored.
      expect((await live('l1', at(20), at(15))).liveChats).toBe(0);
      // No open time, or not a live chunk: nothing proven either.
      expect((await live('l2', at(21))).liveChats).toBe(0);
      expect((await readCoverage(t.db, inst)).get('c3')).toEqual([r(0, at(10), 'exhausted', 'depth')]);
      // Open since before the covered end: every later message arrived live.
      expect((await live('l3', at(22), at(9))).liveChats).toBe(1);
      expect((await readCoverage(t.db, inst)).get('c3')).toEqual([r(0, at(22) + 1, 'exhausted', 'live')]);
      // An older message changes nothing.
      expect((await live('l4', at(5), at(9))).liveChats).toBe(0);
      const stored = await t.db
        .selectFrom('messages')
        .select('source')
        .where('instance_id', '=', inst)
        .execute();
      expect(stored.map((m) => m.source)).toEqual(['live', 'live', 'live', 'live']);
    });

    test('a plan probes the lowest window only; a complete probe is the exact count, an open one counts from where history begins', async () => {
      const inst = await createInstance(t, 'discord');
      const day = 86_400_000;
      const until = at(0) + 40 * day;
      // c4: 10 messages a day stored for days 33–40 (covered 33–40); c5: never synced.
      await new DedupeWriter(t.db).writeBatch({
        instanceId: inst,
        messages: Array.from({ length: 71 }, (_, i) => msg('c4', `m${i}`, until - 7 * day + i * (day / 10))),
      });
      await extendCoverage(t.db, inst, 'c4', {
        from: until - 7 * day,
        to: until,
        fromReason: 'depth',
        toReason: 'depth',
      });
      await t.db
        .insertInto('chats')
        .values([{ instance_id: inst, external_id: 'c5', name: null }])
        .execute();
      const asked: { chat: string; from: number | null; to: number }[] = [];
      const plan = await buildSyncPlan(t.db, inst, {
        type: 'messages',
        depth: '30d',
        until,
        pageSize: 100,
        requestsPerMinute: 60,
        probe: async (chat, window) => {
          asked.push({ chat, ...window });
          // c4's history begins 20 days before `until`; c5 holds 42 messages, all seen.
          return chat === 'c4'
            ? { oldestAt: until - 20 * day, sampled: 100, sampleSpanMs: 10 * day, complete: false }
            : { oldestAt: until - 3 * day, sampled: 42, sampleSpanMs: day, complete: true };
        },
      });
      expect(asked).toEqual([
        { chat: 'c4', from: until - 30 * day, to: until - 7 * day },
        { chat: 'c5', from: until - 30 * day, to: until },
      ]);
      const c4 = plan.chats.find((c) => c.chatId === 'c4')!;
      // Stored density (71 over 7 days) × the 13 days from where history begins to the covered edge.
      expect(c4.windows.map((w) => w.estimatedMessages)).toEqual([Math.round((71 / 7) * 13)]);
      expect(plan.chats.find((c) => c.chatId === 'c5')?.windows.map((w) => w.estimatedMessages)).toEqual([
        42,
      ]);
      expect(plan.probeRequests).toBe(2);
      expect(plan.estimatedMessages).toBe(132 + 42);
      // ⌊132 / 100⌋ + 1 and ⌊42 / 100⌋ + 1 pages, plus the two probes.
      expect(plan.estimatedRequests).toBe(2 + 1 + 2);
      expect(plan.unestimatedChats).toBe(0);
    });

    test('a batch that fails commits neither its messages nor its coverage', async () => {
      const inst = await createInstance(t, 'discord');
      // The statement fails in its coverage part, after the insert.
      const lease = await jobChat(inst, 'c2');
      await expect(
        writer.writeBatch({
          instanceId: inst,
          messages: [msg('c2', 'ok', at(2))],
          checkpoint: {
            lease,
            chatId: 'c2',
            cursor: 1,
            // An edge reason the ledger's check constraint refuses.
            coverage: { from: 0, to: at(3), fromReason: 'bogus' as never, toReason: 'depth' },
          },
        }),
      ).rejects.toThrow();
      expect((await readCoverage(t.db, inst)).get('c2')).toBeUndefined();
      const stored = await t.db.selectFrom('messages').select('id').where('instance_id', '=', inst).execute();
      expect(stored).toEqual([]);
    });
  });
}
