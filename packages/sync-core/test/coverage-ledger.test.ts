import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import {
  type CoverageRange,
  DedupeWriter,
  externalMessageId,
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
