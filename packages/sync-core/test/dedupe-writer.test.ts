import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import { DedupeWriter, externalMessageId, JobRepository, LeaseLostError, leaseOf } from '../src/index.ts';
import { at, msg } from './support/messages.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`DedupeWriter on ${engine}`, () => {
    let t: TestDb;
    let writer: DedupeWriter;
    const newInstance = () => createInstance(t, 'whatsapp-baileys');
    const row = (instanceId: string, chat: string, ext: string) =>
      t.db
        .selectFrom('messages')
        .selectAll()
        .where('instance_id', '=', instanceId)
        .where('chat_external_id', '=', chat)
        .where('external_id', '=', ext)
        .executeTakeFirstOrThrow();

    beforeAll(async () => {
      t = await testDb(engine);
      writer = new DedupeWriter(t.db);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('stores new messages once and counts duplicates exactly', async () => {
      const inst = await newInstance();
      const batch = [msg('c1', 'a', at(1)), msg('c1', 'b', at(2)), msg('c2', 'a', at(3))];
      const first = await writer.writeBatch({ instanceId: inst, messages: batch });
      expect(first).toMatchObject({ fetched: 3, stored: 3, duplicates: 0, updated: 0, failed: 0 });
      expect(first.inserted.map((r): string => r.message.externalId).sort()).toEqual(['a', 'a', 'b']);
      expect(first.oldestTimestamp).toBe(at(1));
      expect(first.newestTimestamp).toBe(at(3));
      const again = await writer.writeBatch({
        instanceId: inst,
        messages: [...batch, msg('c1', 'c', at(4)), msg('c1', 'c', at(4))],
      });
      expect(again).toMatchObject({ fetched: 5, stored: 1, duplicates: 4, updated: 0 });
      const count = await t.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_id', '=', inst)
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(4);
      const a = await row(inst, 'c1', 'a');
      expect(a.sent_at.toISOString()).toBe(new Date(at(1)).toISOString());
      expect(a.text).toBe('text of a');
      expect(a.raw).toEqual({ id: 'a', chat: 'c1' });
      expect(a.source).toBe('sync');
    });

    test("returnInserted 'withMedia' lists only new rows with media; counts stay exact", async () => {
      const inst = await newInstance();
      const r = await writer.writeBatch({
        instanceId: inst,
        returnInserted: 'withMedia',
        messages: [
          msg('c1', 'plain', at(1)),
          msg('c1', 'pic', at(2), {
            kind: 'image',
            media: [{ mimeType: 'image/png', url: 'https://x/p.png' }],
          }),
        ],
      });
      expect(r).toMatchObject({ fetched: 2, stored: 2, duplicates: 0 });
      expect(r.inserted.map((i): string => i.message.externalId)).toEqual(['pic']);
    });

    test('rejects messages without id or valid time as failed, keeps the rest', async () => {
      const inst = await newInstance();
      const r = await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'ok', at(1)), msg('c1', 'bad', Number.NaN), msg('c1', '', at(2))],
      });
      expect(r).toMatchObject({ fetched: 3, stored: 1, duplicates: 0, failed: 2 });
    });

    test('NUL bytes and lone surrogates do not break a batch', async () => {
      const inst = await newInstance();
      const r = await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'x', at(1), { text: 'a\u0000b\ud800', raw: { s: 'nul\u0000', t: '\udc00' } })],
      });
      expect(r.stored).toBe(1);
      const x = await row(inst, 'c1', 'x');
      expect(x.text).toBe('ab\ufffd');
      expect(x.raw).toEqual({ s: 'nul', t: '\ufffd' });
    });

    test('an edit after its target updates text and edited_at; a revoke sets deleted_at', async () => {
      const inst = await newInstance();
      await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'm1', at(1)), msg('c1', 'm2', at(2))],
      });
      const r = await writer.writeBatch({
        instanceId: inst,
        messages: [
          msg('c1', 'e1', at(5), { kind: 'edit', targetId: externalMessageId('m1'), text: 'edited once' }),
          msg('c1', 'e2', at(6), { kind: 'edit', targetId: externalMessageId('m1'), text: 'edited twice' }),
          msg('c1', 'r1', at(7), { kind: 'revoke', targetId: externalMessageId('m2'), text: null }),
        ],
      });
      expect(r).toMatchObject({ stored: 3, duplicates: 0, updated: 2 });
      const m1 = await row(inst, 'c1', 'm1');
      expect(m1.text).toBe('edited twice');
      expect(m1.edited_at?.toISOString()).toBe(new Date(at(6)).toISOString());
      const m2 = await row(inst, 'c1', 'm2');
      expect(m2.deleted_at?.toISOString()).toBe(new Date(at(7)).toISOString());
      expect(m2.text).toBe('text of m2');
      // Replaying the same edits changes nothing.
      const replay = await writer.writeBatch({
        instanceId: inst,
        messages: [
          msg('c1', 'e1', at(5), { kind: 'edit', targetId: externalMessageId('m1'), text: 'edited once' }),
        ],
      });
      expect(replay).toMatchObject({ stored: 0, duplicates: 1, updated: 0 });
      expect((await row(inst, 'c1', 'm1')).text).toBe('edited twice');
    });

    test('an edit or revoke arriving in an earlier batch than its target takes effect when the target arrives', async () => {
      const inst = await newInstance();
      const first = await writer.writeBatch({
        instanceId: inst,
        messages: [
          msg('c1', 'e9', at(9), { kind: 'edit', targetId: externalMessageId('m1'), text: 'latest' }),
          msg('c1', 'e8', at(8), { kind: 'edit', targetId: externalMessageId('m1'), text: 'older edit' }),
          msg('c1', 'r9', at(9), { kind: 'revoke', targetId: externalMessageId('m2'), text: null }),
          msg('c2', 'e1', at(9), { kind: 'edit', targetId: externalMessageId('m1'), text: 'other chat' }),
        ],
      });
      expect(first).toMatchObject({ stored: 4, updated: 0 });
      const second = await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'm1', at(1)), msg('c1', 'm2', at(2)), msg('c1', 'm3', at(3))],
      });
      expect(second).toMatchObject({ stored: 3, duplicates: 0 });
      const m1 = await row(inst, 'c1', 'm1');
      expect(m1.text).toBe('latest');
      expect(m1.edited_at?.toISOString()).toBe(new Date(at(9)).toISOString());
      expect((await row(inst, 'c1', 'm2')).deleted_at?.toISOString()).toBe(new Date(at(9)).toISOString());
      const m3 = await row(inst, 'c1', 'm3');
      expect(m3.text).toBe('text of m3');
      expect(m3.edited_at).toBeNull();
    });

    test('target and edit in the same batch', async () => {
      const inst = await newInstance();
      const r = await writer.writeBatch({
        instanceId: inst,
        messages: [
          msg('c1', 'm1', at(1)),
          msg('c1', 'e1', at(2), { kind: 'edit', targetId: externalMessageId('m1'), text: 'fixed' }),
        ],
      });
      expect(r).toMatchObject({ stored: 2, updated: 1 });
      expect((await row(inst, 'c1', 'm1')).text).toBe('fixed');
    });

    test('a re-fetched message with a newer editedAt updates the stored one', async () => {
      const inst = await newInstance();
      await writer.writeBatch({ instanceId: inst, messages: [msg('c1', 'd1', at(1), { text: 'v1' })] });
      const r = await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'd1', at(1), { text: 'v2', editedAt: at(3) })],
      });
      expect(r).toMatchObject({ stored: 0, duplicates: 1, updated: 1 });
      const d1 = await row(inst, 'c1', 'd1');
      expect(d1.text).toBe('v2');
      const same = await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'd1', at(1), { text: 'v2', editedAt: at(3) })],
      });
      expect(same.updated).toBe(0);
    });

    test('media columns and metadata are filled from the first descriptor', async () => {
      const inst = await newInstance();
      await writer.writeBatch({
        instanceId: inst,
        messages: [
          msg('c1', 'v1', at(1), {
            kind: 'voice',
            media: [
              {
                mimeType: 'audio/ogg',
                url: 'https://x/v.ogg',
                durationSeconds: 3.5,
                waveform: 'AAE=',
                isVoiceNote: true,
              },
              { mimeType: 'image/png', url: 'https://x/p.png', base64: 'zzz' },
            ],
          }),
        ],
      });
      const v1 = await row(inst, 'c1', 'v1');
      expect(v1.has_media).toBe(true);
      expect(v1.media_mime_type).toBe('audio/ogg');
      expect(v1.media_url).toBe('https://x/v.ogg');
      expect(v1.media_metadata).toMatchObject({
        durationSeconds: 3.5,
        waveform: 'AAE=',
        isVoiceNote: true,
        more: [{ mimeType: 'image/png', url: 'https://x/p.png' }],
      });
    });

    test('the checkpoint and job progress commit with the batch', async () => {
      const inst = await newInstance();
      const jobs = new JobRepository(t.db);
      const { job } = await jobs.createJob(inst, 'messages');
      const lease = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      await t.db.insertInto('sync_job_chats').values({ job_id: job.id, chat_id: 'c1' }).execute();
      await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'a', at(5)), msg('c1', 'b', at(6))],
        checkpoint: { lease, chatId: 'c1', cursor: { before: 'a' } },
      });
      await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'a', at(5)), msg('c1', 'z', at(2))],
        checkpoint: {
          lease,
          chatId: 'c1',
          cursor: { before: 'z' },
          status: 'exhausted',
          exhausted: true,
          progress: { chatsDone: 1, chatsExhausted: 1 },
        },
      });
      const chat = await t.db
        .selectFrom('sync_job_chats')
        .selectAll()
        .where('job_id', '=', job.id)
        .executeTakeFirstOrThrow();
      expect(chat).toMatchObject({
        cursor: { before: 'z' },
        fetched: 4,
        stored: 3,
        duplicates: 1,
        status: 'exhausted',
        exhausted: true,
      });
      expect(chat.oldest_at?.toISOString()).toBe(new Date(at(2)).toISOString());
      expect(chat.newest_at?.toISOString()).toBe(new Date(at(6)).toISOString());
      const progress = (await jobs.getJob(job.id)).progress;
      expect(progress).toMatchObject({
        fetched: 4,
        stored: 3,
        duplicates: 1,
        chatsDone: 1,
        chatsExhausted: 1,
        oldestTimestamp: new Date(at(2)).toISOString(),
      });
    });

    test('a failing batch rolls back messages and checkpoint together', async () => {
      const inst = await newInstance();
      const jobs = new JobRepository(t.db);
      const { job } = await jobs.createJob(inst, 'messages', { x: 'rollback' });
      const lease = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      await t.db.insertInto('sync_job_chats').values({ job_id: job.id, chat_id: 'c1' }).execute();
      await expect(
        t.db.transaction().execute(async (trx) => {
          await writer.writeBatchIn(trx, {
            instanceId: inst,
            messages: [msg('c1', 'a', at(1))],
            checkpoint: { lease, chatId: 'c1', cursor: 'x' },
          });
          throw new Error('crash before commit');
        }),
      ).rejects.toThrow('crash before commit');
      const rows = await t.db.selectFrom('messages').select('id').where('instance_id', '=', inst).execute();
      expect(rows).toHaveLength(0);
      expect((await jobs.getJob(job.id)).progress).toMatchObject({ stored: 0, fetched: 0 });
    });
    /** A job claimed by `w1`, taken over by `w2` after its lease expired; both leases and the chat row. */
    const takenOver = async (inst: string, tag: string) => {
      const jobs = new JobRepository(t.db);
      const { job } = await jobs.createJob(inst, 'messages', { tag });
      const stale = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      await t.db.insertInto('sync_job_chats').values({ job_id: job.id, chat_id: 'c1' }).execute();
      await t.db
        .updateTable('sync_jobs')
        .set({ lease_expires_at: new Date(Date.now() - 60_000) })
        .where('id', '=', job.id)
        .execute();
      const current = leaseOf((await jobs.claimJob(job.id, 'w2', 60_000)) ?? job);
      return { jobs, job, stale, current };
    };
    const chatRow = (jobId: string) =>
      t.db.selectFrom('sync_job_chats').selectAll().where('job_id', '=', jobId).executeTakeFirstOrThrow();
    const messageCount = async (inst: string) =>
      (await t.db.selectFrom('messages').select('id').where('instance_id', '=', inst).execute()).length;

    test('fencing: a batch whose lease was taken over commits nothing (messages, checkpoint, counters)', async () => {
      const inst = await newInstance();
      const { jobs, job, stale, current } = await takenOver(inst, 'one-statement');
      const err = await writer
        .writeBatch({
          instanceId: inst,
          messages: [msg('c1', 'a', at(1)), msg('c1', 'b', at(2))],
          checkpoint: { lease: stale, chatId: 'c1', cursor: 'stale', progress: { chatsDone: 1 } },
        })
        .catch((e) => e);
      expect(err).toBeInstanceOf(LeaseLostError);
      expect(await messageCount(inst)).toBe(0);
      expect(await chatRow(job.id)).toMatchObject({ cursor: null, fetched: 0, stored: 0 });
      expect((await jobs.getJob(job.id)).progress).toMatchObject({ fetched: 0, stored: 0, chatsDone: 0 });
      // The current holder writes the same batch normally.
      const ok = await writer.writeBatch({
        instanceId: inst,
        messages: [msg('c1', 'a', at(1)), msg('c1', 'b', at(2))],
        checkpoint: { lease: current, chatId: 'c1', cursor: 'current' },
      });
      expect(ok).toMatchObject({ stored: 2, duplicates: 0 });
      expect(await chatRow(job.id)).toMatchObject({ cursor: 'current', fetched: 2, stored: 2 });
      expect((await jobs.getJob(job.id)).progress).toMatchObject({ fetched: 2, stored: 2 });
    });

    test('a batch encoded ahead (prepareBatch) writes as writeBatch does; fenced when it is sent', async () => {
      const inst = await newInstance();
      const { jobs, job, stale, current } = await takenOver(inst, 'prepared');
      const messages = [msg('c1', 'a', at(1)), msg('c1', 'b', at(2)), msg('c1', 'b', at(2))];
      // Encoding does not look at the database: a batch of a run whose lease was taken over is
      // encoded, and sending it commits nothing.
      const ahead = writer.prepareBatch({
        instanceId: inst,
        messages,
        checkpoint: { lease: stale, chatId: 'c1', cursor: 'stale', progress: { chatsDone: 1 } },
      });
      expect(await writer.writeBatch(ahead).catch((e) => e)).toBeInstanceOf(LeaseLostError);
      expect(await messageCount(inst)).toBe(0);
      expect(await chatRow(job.id)).toMatchObject({ cursor: null, fetched: 0, stored: 0 });
      expect((await jobs.getJob(job.id)).progress).toMatchObject({ fetched: 0, stored: 0, chatsDone: 0 });
      const prepared = writer.prepareBatch({
        instanceId: inst,
        messages,
        checkpoint: { lease: current, chatId: 'c1', cursor: 'current' },
      });
      expect(await writer.writeBatch(prepared)).toMatchObject({
        fetched: 3,
        stored: 2,
        duplicates: 1,
        updated: 0,
        oldestTimestamp: at(1),
        newestTimestamp: at(2),
      });
      expect(await chatRow(job.id)).toMatchObject({
        cursor: 'current',
        fetched: 3,
        stored: 2,
        duplicates: 1,
      });
      // A batch with an edit is prepared too and written stepwise, in one transaction.
      const edit = msg('c1', 'e1', at(5), { kind: 'edit', targetId: externalMessageId('a'), text: 'edited' });
      const stepwise = writer.prepareBatch({
        instanceId: inst,
        messages: [edit],
        checkpoint: { lease: current, chatId: 'c1', cursor: 'edit' },
      });
      expect(await writer.writeBatch(stepwise)).toMatchObject({ stored: 1, updated: 1 });
      expect((await row(inst, 'c1', 'a')).text).toBe('edited');
      expect(await chatRow(job.id)).toMatchObject({ cursor: 'edit', fetched: 4, stored: 3 });
    });

    test('fencing: a stepwise batch (edits) and an empty batch of a stale lease commit nothing', async () => {
      const inst = await newInstance();
      const { jobs, job, stale } = await takenOver(inst, 'stepwise');
      const edit = msg('c1', 'e1', at(5), { kind: 'edit', targetId: externalMessageId('m1'), text: 'x' });
      await expect(
        writer.writeBatch({
          instanceId: inst,
          messages: [msg('c1', 'm1', at(1)), edit],
          checkpoint: { lease: stale, chatId: 'c1', cursor: 'stale' },
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        writer.writeBatch({
          instanceId: inst,
          messages: [],
          checkpoint: {
            lease: stale,
            chatId: 'c1',
            cursor: 'stale-empty',
            status: 'exhausted',
            exhausted: true,
            progress: { chatsDone: 1, chatsExhausted: 1 },
          },
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await messageCount(inst)).toBe(0);
      expect(await chatRow(job.id)).toMatchObject({ cursor: null, status: 'pending', exhausted: false });
      expect((await jobs.getJob(job.id)).progress).toMatchObject({
        fetched: 0,
        chatsDone: 0,
        chatsExhausted: 0,
      });
    });

    test("an empty batch's checkpoint commits atomically with the job's counters", async () => {
      const inst = await newInstance();
      const jobs = new JobRepository(t.db);
      const { job } = await jobs.createJob(inst, 'messages', { tag: 'empty-atomic' });
      const lease = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      await t.db.insertInto('sync_job_chats').values({ job_id: job.id, chat_id: 'c1' }).execute();
      // The job row refuses updates (as a failing database would between two statements).
      await sql`create or replace function refuse_job_update() returns trigger language plpgsql as $$
        begin raise exception 'job row refused'; end $$`.execute(t.db);
      await sql
        .raw(`create trigger refuse_job_update before update on sync_jobs for each row
          when (old.id = '${job.id}') execute function refuse_job_update()`)
        .execute(t.db);
      try {
        await expect(
          writer.writeBatch({
            instanceId: inst,
            messages: [],
            checkpoint: {
              lease,
              chatId: 'c1',
              cursor: 'end',
              status: 'exhausted',
              exhausted: true,
              progress: { chatsDone: 1, chatsExhausted: 1 },
            },
          }),
        ).rejects.toThrow('job row refused');
      } finally {
        await sql`drop trigger refuse_job_update on sync_jobs`.execute(t.db);
      }
      // Neither half committed: the chat is not marked exhausted without the job counting it.
      expect(await chatRow(job.id)).toMatchObject({ cursor: null, status: 'pending', exhausted: false });
      await writer.writeBatch({
        instanceId: inst,
        messages: [],
        checkpoint: {
          lease,
          chatId: 'c1',
          cursor: 'end',
          status: 'exhausted',
          exhausted: true,
          progress: { chatsDone: 1, chatsExhausted: 1 },
        },
      });
      expect(await chatRow(job.id)).toMatchObject({ cursor: 'end', status: 'exhausted', exhausted: true });
      expect((await jobs.getJob(job.id)).progress).toMatchObject({ chatsDone: 1, chatsExhausted: 1 });
    });
  });
}
