import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import {
  type BatchCommitted,
  CancelledError,
  DedupeWriter,
  ExponentialCooldownPolicy,
  externalUserId,
  fixedRateSource,
  JobRepository,
  leaseOf,
  MediaStorageService,
  MemoryEventSink,
  NotFoundError,
  PluginRegistry,
  PreparedBatch,
  RateLimitedError,
  RateLimiter,
  readProgress,
  type SyncJobConfig,
  SyncRunner,
  type SyncRunnerOptions,
  VirtualClock,
  type WriteBatchInput,
  type WriteBatchResult,
} from '../src/index.ts';
import { ProgressTracker } from '../src/runner/progress-tracker.ts';
import { msg } from './support/messages.ts';
import { newInstance as createInstance, testDb } from './support/test-db.ts';
import { dataset, type TestChat, TestPlugin, type TestPluginOptions } from './support/test-plugin.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

for (const engine of TEST_ENGINES) {
  describe(`SyncRunner on ${engine}`, () => {
    let t: TestDb;
    let jobs: JobRepository;
    let mediaDir: string;

    beforeAll(async () => {
      t = await testDb(engine);
      jobs = new JobRepository(t.db);
      mediaDir = mkdtempSync(join(tmpdir(), 'omni-runner-media-'));
    }, 60_000);
    afterAll(async () => {
      await t?.close();
      rmSync(mediaDir, { recursive: true, force: true });
    }, 60_000);

    const newInstance = () => createInstance(t, 'discord');

    const setup = (
      pluginOptions: TestPluginOptions,
      runner: Partial<SyncRunnerOptions> = {},
      plugin: TestPlugin = new TestPlugin(pluginOptions),
    ) => {
      const clock = new VirtualClock(Date.now());
      const events = new MemoryEventSink();
      const batches: BatchCommitted[] = [];
      const limiter = new RateLimiter({
        rates: fixedRateSource({}),
        clock,
        cooldown: new ExponentialCooldownPolicy({ random: () => 0 }),
      });
      const r = new SyncRunner({
        db: t.db,
        plugins: new PluginRegistry([plugin]),
        limiter,
        events,
        clock,
        onBatchCommitted: (b) => batches.push(b),
        ...runner,
      });
      return { plugin, clock, events, batches, runner: r, limiter };
    };

    const startJob = async (
      inst: string,
      config: SyncJobConfig = { depth: 'all' },
      type = 'messages' as const,
    ) => {
      const { job } = await jobs.createJob(inst, type, config);
      return job;
    };

    const messageCount = async (inst: string) =>
      Number(
        (
          await t.db
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('instance_id', '=', inst)
            .executeTakeFirstOrThrow()
        ).n,
      );

    const externalIds = async (inst: string) =>
      (
        await t.db
          .selectFrom('messages')
          .select('external_id')
          .where('instance_id', '=', inst)
          .orderBy('external_id')
          .execute()
      ).map((r) => r.external_id);

    const expected = (chats: TestChat[]) =>
      chats.flatMap((c) => c.messages.map((m) => m.externalId as string)).sort();

    test('exact counts for a known dataset; unreadable chats skipped with their reason; events', async () => {
      const inst = await newInstance();
      const chats = [
        ...dataset(3, 25),
        { id: 'secret', name: 'Secret', readable: false, reason: 'Missing Access', messages: [] },
      ];
      const { runner, events, batches } = setup({
        chats,
        pageSize: 10,
        warnings: ['Message Content intent missing'],
      });
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      const p = readProgress(result?.job?.progress);
      expect(p).toMatchObject({
        fetched: 75,
        stored: 75,
        duplicates: 0,
        updated: 0,
        failed: 0,
        chatsTotal: 3,
        chatsDone: 3,
        chatsExhausted: 0,
        etaSeconds: 0,
        parts: { messages: 'done' },
      });
      expect(p.warnings).toEqual(['Message Content intent missing', 'chat Secret skipped: Missing Access']);
      expect(p.skippedChats).toEqual([{ chatId: 'secret', name: 'Secret', reason: 'Missing Access' }]);
      expect(p.oldestTimestamp).toBe(
        new Date(Math.min(...chats.flatMap((c) => c.messages.map((m) => m.timestamp)))).toISOString(),
      );
      expect(await externalIds(inst)).toEqual(expected(chats));
      expect(batches).toHaveLength(9);
      const chatRows = await t.db
        .selectFrom('sync_job_chats')
        .selectAll()
        .where('job_id', '=', job.id)
        .orderBy('chat_id')
        .execute();
      expect(chatRows.map((c) => [c.chat_id, c.status, c.stored, c.last_error])).toEqual([
        ['chat-1', 'done', 25, null],
        ['chat-2', 'done', 25, null],
        ['chat-3', 'done', 25, null],
        ['secret', 'skipped', 0, 'Missing Access'],
      ]);
      const types = events.events.map((e) => e.type);
      expect(types[0]).toBe('sync.started');
      expect(types.at(-1)).toBe('sync.completed');
      expect(types).toContain('sync.progress');
      expect(events.ofType('sync.completed')[0]).toMatchObject({
        jobId: job.id,
        instanceId: inst,
        jobType: 'messages',
      });
      const listed = await t.db
        .selectFrom('chats')
        .select('external_id')
        .where('instance_id', '=', inst)
        .execute();
      expect(listed).toHaveLength(4);

      // A second run of the same window asks for nothing already covered: only the new tail (empty).
      const second = await startJob(inst);
      expect(second.id).not.toBe(job.id);
      const rerun = setup({ chats, pageSize: 10 });
      const again = await rerun.runner.runJob(second.id, 'w1');
      expect(readProgress(again?.job?.progress)).toMatchObject({
        fetched: 0,
        stored: 0,
        duplicates: 0,
        chatsDone: 3,
      });
      expect(rerun.plugin.requests).toBe(0);
      expect(await messageCount(inst)).toBe(75);

      // `force` fetches the window again: nothing new, everything counted as a duplicate; a message
      // the platform no longer has is marked deleted (and counted as updated).
      const gone = chats[0]!.messages.splice(3, 1)[0]!;
      const forced = await startJob(inst, { depth: 'all', force: true });
      const again2 = await setup({ chats, pageSize: 10 }).runner.runJob(forced.id, 'w1');
      expect(readProgress(again2?.job?.progress)).toMatchObject({
        fetched: 74,
        stored: 0,
        duplicates: 74,
        updated: 1,
        chatsDone: 3,
      });
      const deleted = await t.db
        .selectFrom('messages')
        .select(['external_id', 'deleted_at'])
        .where('instance_id', '=', inst)
        .where('deleted_at', 'is not', null)
        .execute();
      expect(deleted.map((d) => d.external_id)).toEqual([gone.externalId as string]);
      chats[0]!.messages.splice(3, 0, gone);
    });

    test('a platform answering 429 three times still yields every message; waits are counted', async () => {
      const inst = await newInstance();
      const chats = dataset(1, 30);
      const { runner, clock } = setup({ chats, pageSize: 10, rateLimitTimes: 3 });
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      expect(readProgress(result?.job?.progress)).toMatchObject({
        fetched: 30,
        stored: 30,
        rateLimitWaits: 3,
        rateLimitWaitMs: 60_000 + 120_000 + 240_000,
      });
      expect(clock.slept).toEqual([60_000, 120_000, 240_000]);
      expect(await externalIds(inst)).toEqual(expected(chats));
    });

    test('a 429 thrown from inside the history iterator: cool down, resume from the last committed cursor', async () => {
      const inst = await newInstance();
      const chats = dataset(1, 30);
      let thrown = false;
      const { runner, plugin } = setup(
        {
          chats,
          pageSize: 10,
          beforePage: (_chat, page) => {
            if (page === 1 && !thrown) {
              thrown = true;
              throw new RateLimitedError('429 from iterator', { retryAfterMs: 5000 });
            }
          },
        },
        { chatConcurrency: 1 },
      );
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      expect(readProgress(result?.job?.progress)).toMatchObject({
        fetched: 30,
        stored: 30,
        duplicates: 0,
        rateLimitWaits: 1,
        rateLimitWaitMs: 5000,
      });
      expect(plugin.fetchCalls.map((c) => c.cursor)).toEqual([null, 10]);
      expect(plugin.fetchCalls[1]?.anchor?.externalId).toBe('m-1-21');
      expect(await messageCount(inst)).toBe(30);
    });

    test('cancel stops between batches; resume finishes with the exact dataset', async () => {
      const inst = await newInstance();
      const chats = dataset(2, 30);
      let jobId = '';
      const { runner, events, batches } = setup(
        {
          chats,
          pageSize: 10,
          // Requested while the first page is fetched, i.e. before its batch is stored (the next
          // page is fetched while a batch is stored, so a later page would race the check).
          beforePage: async (_chat, _page, served) => {
            if (served === 0) await jobs.requestCancel(jobId);
          },
        },
        { chatConcurrency: 1 },
      );
      const job = await startJob(inst);
      jobId = job.id;
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('cancelled');
      expect(result?.job?.status).toBe('cancelled');
      expect(batches).toHaveLength(1);
      expect(await messageCount(inst)).toBe(10);
      expect(readProgress(result?.job?.progress)).toMatchObject({ fetched: 10, stored: 10 });
      expect(events.ofType('sync.cancelled')).toHaveLength(1);
      await jobs.resumeJob(job.id);
      const resumed = await setup({ chats, pageSize: 10 }).runner.runJob(job.id, 'w2');
      expect(resumed?.status).toBe('completed');
      expect(readProgress(resumed?.job?.progress)).toMatchObject({
        fetched: 60,
        stored: 60,
        duplicates: 0,
        chatsDone: 2,
      });
      expect(await externalIds(inst)).toEqual(expected(chats));
    });

    /**
     * A writer that records the cursors it is sent and how many writes overlap, and holds the
     * first write until `release` (or 2 s) — time in which the runner fetches the next page.
     */
    class WatchedWriter extends DedupeWriter {
      readonly cursors: unknown[] = [];
      inFlight = 0;
      maxInFlight = 0;
      #hold: Promise<unknown> | null;
      release: () => void = () => {};
      constructor(db: TestDb['db']) {
        super(db);
        this.#hold = new Promise<void>((resolve) => {
          this.release = resolve;
        });
      }
      override async writeBatch(input: WriteBatchInput | PreparedBatch): Promise<WriteBatchResult> {
        const hold = this.#hold;
        this.#hold = null;
        if (hold) await Promise.race([hold, Bun.sleep(2_000)]);
        const batch = input instanceof PreparedBatch ? input.input : input;
        this.cursors.push(batch.checkpoint?.cursor);
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        try {
          return await super.writeBatch(input);
        } finally {
          this.inFlight -= 1;
        }
      }
    }

    test('the next page is fetched while a batch is written; writes stay one at a time, in order', async () => {
      const inst = await newInstance();
      const chats = dataset(1, 35);
      const writer = new WatchedWriter(t.db);
      let fetchedDuringFirstWrite = false;
      const { runner, batches } = setup(
        {
          chats,
          pageSize: 10,
          beforePage: (_c, _p, served) => {
            if (served !== 1) return;
            fetchedDuringFirstWrite = writer.cursors.length === 0;
            writer.release();
          },
        },
        { writer, chatConcurrency: 1 },
      );
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      expect(fetchedDuringFirstWrite).toBe(true);
      expect(writer.maxInFlight).toBe(1);
      expect(batches.map((b) => [b.batch, b.fetched, b.final])).toEqual([
        [1, 10, false],
        [2, 10, false],
        [3, 10, false],
        [4, 5, true],
      ]);
      expect(writer.cursors).toHaveLength(4);
      const chat = await t.db
        .selectFrom('sync_job_chats')
        .selectAll()
        .where('job_id', '=', job.id)
        .executeTakeFirstOrThrow();
      expect(chat.cursor).toEqual(writer.cursors[3] as never);
      expect(readProgress(result?.job?.progress)).toMatchObject({ fetched: 35, stored: 35, duplicates: 0 });
      expect(await externalIds(inst)).toEqual(expected(chats));
    });

    test('a batch fetched while the one before it loses the lease is not written: the stale run commits nothing', async () => {
      const inst = await newInstance();
      const chats = dataset(1, 30);
      const writer = new WatchedWriter(t.db);
      const job = await startJob(inst);
      const { runner, batches } = setup(
        {
          chats,
          pageSize: 10,
          beforePage: async (_c, _p, served) => {
            if (served !== 1) return;
            // While page 2 is fetched and page 1 not yet sent, another worker takes the job over.
            await t.db
              .updateTable('sync_jobs')
              .set({ lease_expires_at: new Date(Date.now() - 1_000) })
              .where('id', '=', job.id)
              .execute();
            await jobs.claimJob(job.id, 'w2', 60_000);
            writer.release();
          },
        },
        { writer, chatConcurrency: 1 },
      );
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('lease-lost');
      expect(writer.cursors).toHaveLength(1);
      expect(batches).toHaveLength(0);
      expect(await messageCount(inst)).toBe(0);
      const after = await jobs.getJob(job.id);
      expect(readProgress(after.progress)).toMatchObject({ fetched: 0, stored: 0 });
      const chat = await t.db
        .selectFrom('sync_job_chats')
        .selectAll()
        .where('job_id', '=', job.id)
        .executeTakeFirstOrThrow();
      expect(chat).toMatchObject({ cursor: null, fetched: 0, stored: 0 });
    });

    test('a crash after batch k then a rerun: exact dataset, no duplicates, counters of a clean run', async () => {
      const inst = await newInstance();
      const chats = dataset(3, 25);
      const { runner } = setup(
        {
          chats,
          pageSize: 10,
          beforePage: (_chat, _page, served) => {
            if (served === 4) throw new Error('process crashed');
          },
        },
        { chatConcurrency: 2 },
      );
      const job = await startJob(inst);
      const crashed = await runner.runJob(job.id, 'w1');
      expect(crashed?.status).toBe('failed');
      expect(crashed?.error).toBe('process crashed');
      const before = readProgress(crashed?.job?.progress);
      expect(before.stored).toBeGreaterThan(0);
      expect(before.stored).toBeLessThan(75);
      await jobs.resumeJob(job.id);
      const rerun = await setup({ chats, pageSize: 10 }).runner.runJob(job.id, 'w2');
      expect(rerun?.status).toBe('completed');
      expect(readProgress(rerun?.job?.progress)).toMatchObject({
        fetched: 75,
        stored: 75,
        duplicates: 0,
        chatsTotal: 3,
        chatsDone: 3,
      });
      expect(await externalIds(inst)).toEqual(expected(chats));
      expect(rerun?.job?.attempts).toBe(2);
    });

    test('a stale run whose lease was taken over writes nothing more and stops quietly as lease-lost', async () => {
      const inst = await newInstance();
      const chats = dataset(1, 30);
      const job = await startJob(inst);
      let takeover: Promise<unknown> | null = null;
      const stale = setup({
        chats,
        pageSize: 10,
        beforePage: async (_chat, _page, served) => {
          if (served !== 2) return;
          // Paused past its lease (two pages fetched, the second committed or still being
          // written): another worker claims the job and finishes it while this run still holds
          // its third page.
          await t.db
            .updateTable('sync_jobs')
            .set({ lease_expires_at: new Date(Date.now() - 1_000) })
            .where('id', '=', job.id)
            .execute();
          takeover = setup({ chats, pageSize: 10 }).runner.runJob(job.id, 'w2');
          await takeover;
        },
      });
      const result = await stale.runner.runJob(job.id, 'w1');
      const other = (await takeover) as Awaited<ReturnType<SyncRunner['runJob']>>;
      expect(other?.status).toBe('completed');
      expect(result?.status).toBe('lease-lost');
      expect(stale.events.ofType('sync.failed')).toHaveLength(0);
      expect(stale.events.ofType('sync.completed')).toHaveLength(0);
      const after = await jobs.getJob(job.id);
      expect(after.status).toBe('completed');
      expect(readProgress(after.progress)).toMatchObject({
        fetched: 30,
        stored: 30,
        duplicates: 0,
        chatsTotal: 1,
        chatsDone: 1,
      });
      expect(await externalIds(inst)).toEqual(expected(chats));
    });

    test('media queued when the worker shuts down is left for the next run, not counted as failed', async () => {
      const inst = await newInstance();
      const end = Date.now() - 60_000;
      const files = new Map<string, Uint8Array>();
      const chats: TestChat[] = [
        {
          id: 'album',
          messages: Array.from({ length: 30 }, (_, i) => {
            const url = `https://cdn/p${i}.png`;
            files.set(url, Buffer.concat([PNG, Buffer.from(`photo ${i}`)]));
            return msg('album', `p${i}`, end - (30 - i) * 1000, {
              kind: 'image',
              media: [{ mimeType: 'image/png', url }],
            });
          }),
        },
      ];
      const media = new MediaStorageService(t.db, { basePath: mediaDir, allowedMimeTypes: ['image/*'] });
      const controller = new AbortController();
      // Downloads hang until the run's media signal aborts (a slow CDN at shutdown time).
      class HangingCdn extends TestPlugin {
        override async downloadMedia(
          ctx: Parameters<TestPlugin['downloadMedia']>[0],
        ): ReturnType<TestPlugin['downloadMedia']> {
          await new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(new CancelledError('download stopped')), {
              once: true,
            }),
          );
          throw new Error('unreachable');
        }
      }
      const options: TestPluginOptions = {
        chats,
        pageSize: 10,
        media: files,
        beforePage: (_c, _p, served) => {
          if (served === 1) controller.abort();
        },
      };
      const first = setup(options, { media, mediaConcurrency: 2 }, new HangingCdn(options));
      const job = await startJob(inst, { depth: 'all', downloadMedia: true });
      const released = await first.runner.runJob(job.id, 'w1', { signal: controller.signal });
      expect(released?.status).toBe('released');
      const between = readProgress((await jobs.getJob(job.id)).progress);
      expect(between).toMatchObject({ mediaFailed: 0, mediaDownloaded: 0 });
      expect(between.mediaFailReasons ?? {}).toEqual({});
      const rerun = await setup({ chats, pageSize: 10, media: files }, { media }).runner.runJob(job.id, 'w2');
      expect(rerun?.status).toBe('completed');
      const p = readProgress(rerun?.job?.progress);
      expect(p).toMatchObject({ stored: 30, mediaDownloaded: 30, mediaFailed: 0, mediaSkipped: 0 });
      expect(p.mediaFailReasons ?? {}).toEqual({});
      const withoutFile = await t.db
        .selectFrom('messages')
        .select('id')
        .where('instance_id', '=', inst)
        .where('media_local_path', 'is', null)
        .execute();
      expect(withoutFile).toHaveLength(0);
    });

    test('a chat that fails permanently is counted in failed/chatsFailed with its reason; the job completes', async () => {
      const inst = await newInstance();
      const chats = dataset(3, 12);
      const { runner } = setup({
        chats,
        pageSize: 5,
        beforePage: (chat, page) => {
          if (chat === 'chat-2' && page === 1) throw new NotFoundError('Unknown Channel (10003)');
        },
      });
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      const p = readProgress(result?.job?.progress);
      expect(p).toMatchObject({ chatsTotal: 3, chatsDone: 2, chatsFailed: 1, failed: 1 });
      expect(p.failedChats).toEqual([
        { chatId: 'chat-2', name: 'Chat 2', reason: 'Unknown Channel (10003)' },
      ]);
      expect(p.fetched).toBe(p.stored + p.duplicates + p.failed - p.chatsFailed);
    });

    // A separate process cannot share the in-memory PGlite: this one runs on Postgres only.
    if (engine === 'postgres')
      test('a worker killed with SIGKILL mid-run: the job is claimed again and continues exactly', async () => {
        const inst = await newInstance();
        const endMs = Date.now() - 60_000;
        const chats = dataset(3, 25, endMs);
        const job = await startJob(inst);
        const child = Bun.spawn(
          ['bun', join(import.meta.dir, 'support/runner-child.ts'), t.url ?? '', job.id, String(endMs), '5'],
          { stdout: 'pipe', stderr: 'inherit' },
        );
        const reader = child.stdout.getReader();
        let out = '';
        while (!/batch 4\b/.test(out)) {
          const { value, done } = await reader.read();
          if (done) break;
          out += new TextDecoder().decode(value);
        }
        child.kill('SIGKILL');
        await child.exited;
        expect(out).toContain('batch 4');
        expect(out).not.toContain('finished');
        const dead = await jobs.getJob(job.id);
        expect(dead.status).toBe('running');
        expect(dead.lease_owner).toBe('child-worker');
        const before = await messageCount(inst);
        expect(before).toBeGreaterThanOrEqual(35);
        expect(before).toBeLessThan(75);
        // The reaper's view: the lease runs out, another worker claims the job.
        await t.db
          .updateTable('sync_jobs')
          .set({ lease_expires_at: new Date(Date.now() - 1000) })
          .where('id', '=', job.id)
          .execute();
        expect((await jobs.findExpiredLeases()).map((j) => j.id)).toContain(job.id);
        const rerun = await setup({ chats, pageSize: 10 }).runner.runJob(job.id, 'w2');
        expect(rerun?.status).toBe('completed');
        expect(rerun?.job?.attempts).toBe(2);
        expect(readProgress(rerun?.job?.progress)).toMatchObject({
          fetched: 75,
          stored: 75,
          duplicates: 0,
          chatsTotal: 3,
          chatsDone: 3,
        });
        expect(await externalIds(inst)).toEqual(expected(chats));
      }, 30_000);

    test('depth: only the window is stored; a chat whose history begins inside it is exhausted', async () => {
      const inst = await newInstance();
      const now = Date.now() - 60_000;
      const day = 86_400_000;
      const young = {
        id: 'young',
        name: 'Young',
        messages: [msg('young', 'y1', now - 2 * day), msg('young', 'y2', now - day)],
      };
      const old = {
        id: 'old',
        name: 'Old',
        messages: [
          msg('old', 'o1', now - 30 * day),
          msg('old', 'o2', now - 3 * day),
          msg('old', 'o3', now - day),
        ],
      };
      const { runner } = setup({ chats: [young, old], pageSize: 10 });
      const job = await startJob(inst, { depth: '7d' });
      const result = await runner.runJob(job.id, 'w1');
      const p = readProgress(result?.job?.progress);
      expect(p).toMatchObject({ fetched: 4, stored: 4, chatsDone: 2, chatsExhausted: 1 });
      expect(p.window?.depth).toBe('7d');
      expect(Date.parse(p.window?.until ?? '') - Date.parse(p.window?.since ?? '')).toBe(7 * day);
      expect(p.exhaustedChats).toEqual([
        { chatId: 'young', name: 'Young', oldestTimestamp: new Date(now - 2 * day).toISOString() },
      ]);
      expect(await externalIds(inst)).toEqual(['o2', 'o3', 'y1', 'y2']);
      const rows = await t.db
        .selectFrom('sync_job_chats')
        .select(['chat_id', 'status', 'exhausted'])
        .where('job_id', '=', job.id)
        .orderBy('chat_id')
        .execute();
      expect(rows).toEqual([
        { chat_id: 'old', status: 'done', exhausted: false },
        { chat_id: 'young', status: 'exhausted', exhausted: true },
      ]);
    });

    test('channelId limits the job to one chat', async () => {
      const inst = await newInstance();
      const chats = dataset(3, 5);
      const { runner } = setup({ chats });
      const job = await startJob(inst, { depth: 'all', channelId: 'chat-2' });
      const result = await runner.runJob(job.id, 'w1');
      expect(readProgress(result?.job?.progress)).toMatchObject({ stored: 5, chatsTotal: 1, chatsDone: 1 });
      expect(await externalIds(inst)).toEqual(expected([chats[1] as TestChat]));
    });

    test('media: base64 always stored, URLs when the job asks, disallowed types skipped and counted', async () => {
      const inst = await newInstance();
      const jpgLike = Buffer.concat([PNG, Buffer.from('url-media')]);
      const end = Date.now() - 60_000;
      const chats: TestChat[] = [
        {
          id: 'media',
          messages: [
            msg('media', 'b64', end - 3000, {
              kind: 'image',
              media: [{ mimeType: 'image/png', base64: PNG.toString('base64') }],
            }),
            msg('media', 'url', end - 2000, {
              kind: 'image',
              media: [{ mimeType: 'image/png', url: 'https://cdn/x.png' }],
            }),
            msg('media', 'zip', end - 1000, {
              kind: 'document',
              media: [{ mimeType: 'application/zip', url: 'https://cdn/x.zip' }],
            }),
          ],
        },
      ];
      const media = new MediaStorageService(t.db, {
        basePath: mediaDir,
        allowedMimeTypes: ['image/*'],
        maxFileSizeBytes: 1e6,
      });
      const { runner } = setup(
        {
          chats,
          media: new Map([
            ['https://cdn/x.png', jpgLike],
            ['https://cdn/x.zip', PNG],
          ]),
        },
        { media },
      );
      const job = await startJob(inst, { depth: 'all', downloadMedia: true });
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      expect(readProgress(result?.job?.progress)).toMatchObject({
        stored: 3,
        mediaDownloaded: 2,
        mediaSkipped: 1,
        mediaFailed: 0,
        mediaBytes: PNG.length + jpgLike.length,
        mediaSkipReasons: { type: 1 },
      });
      const rows = await t.db
        .selectFrom('messages')
        .selectAll()
        .where('instance_id', '=', inst)
        .orderBy('external_id')
        .execute();
      const byId = Object.fromEntries(rows.map((r) => [r.external_id, r]));
      expect(byId.b64?.media_metadata).not.toHaveProperty('base64');
      expect(readFileSync(join(mediaDir, byId.b64?.media_local_path ?? 'x'))).toEqual(PNG);
      expect(readFileSync(join(mediaDir, byId.url?.media_local_path ?? 'x'))).toEqual(jpgLike);
      expect(byId.zip?.media_local_path).toBeNull();
    });

    test('downloads the media fetcher refuses are skipped under their reason, logged, and not tried again', async () => {
      const inst = await newInstance();
      const end = Date.now() - 60_000;
      const urls = [
        'file:///etc/passwd',
        'https://127.0.0.1/x.png',
        'https://[::ffff:10.0.0.1]/x.png',
        'https://evil.test/x.png',
      ];
      const chats: TestChat[] = [
        {
          id: 'refused',
          messages: urls.map((url, i) =>
            msg('refused', `r${i}`, end - 1000 * (i + 1), {
              kind: 'image',
              media: [{ mimeType: 'image/png', url }],
            }),
          ),
        },
      ];
      class FetchingCdn extends TestPlugin {
        override async downloadMedia(
          ctx: Parameters<TestPlugin['downloadMedia']>[0],
          media: Parameters<TestPlugin['downloadMedia']>[1],
        ): ReturnType<TestPlugin['downloadMedia']> {
          const res = await ctx.fetchMedia(media.url ?? '', { allowedHosts: ['cdn.test'] });
          if (!res.body) throw new Error('no body');
          return res.body;
        }
      }
      const logged: { reason?: string; msg?: string }[] = [];
      const logger = {
        debug() {},
        warn() {},
        error() {},
        info(obj: object | string, msg?: string) {
          if (typeof obj === 'object')
            logged.push({ ...(obj as { reason?: string }), ...(msg ? { msg } : {}) });
        },
      };
      const media = new MediaStorageService(t.db, { basePath: mediaDir, allowedMimeTypes: ['image/*'] });
      const options: TestPluginOptions = { chats };
      const { runner } = setup(options, { media, logger }, new FetchingCdn(options));
      const first = await runner.runJob(
        (await startJob(inst, { depth: 'all', downloadMedia: true })).id,
        'w1',
      );
      expect(first?.status).toBe('completed');
      expect(readProgress(first?.job?.progress)).toMatchObject({
        mediaDownloaded: 0,
        mediaSkipped: 4,
        mediaFailed: 0,
        mediaSkipReasons: { scheme: 1, address: 2, host: 1 },
      });
      expect(
        logged
          .filter((l) => l.msg === 'media refused')
          .map((l) => l.reason)
          .sort(),
      ).toEqual(['address', 'address', 'host', 'scheme']);
      const second = await runner.runJob(
        (await startJob(inst, { depth: 'all', downloadMedia: true })).id,
        'w1',
      );
      expect(readProgress(second?.job?.progress)).toMatchObject({ mediaSkipped: 0, mediaFailed: 0 });
    });

    test('media of messages stored by an earlier run (crash before the file) is stored by the next run', async () => {
      const inst = await newInstance();
      const end = Date.now() - 60_000;
      const chats: TestChat[] = [
        {
          id: 'late-media',
          messages: [
            msg('late-media', 'p1', end - 2000, {
              kind: 'image',
              media: [{ mimeType: 'image/png', base64: PNG.toString('base64') }],
            }),
            msg('late-media', 'p2', end - 1000, {
              kind: 'image',
              media: [{ mimeType: 'image/png', url: 'https://cdn/late.png' }],
            }),
          ],
        },
      ];
      const first = await setup({ chats }).runner.runJob((await startJob(inst)).id, 'w1');
      expect(readProgress(first?.job?.progress)).toMatchObject({ stored: 2, mediaDownloaded: 0 });
      const media = new MediaStorageService(t.db, {
        basePath: mediaDir,
        allowedMimeTypes: ['image/*'],
        maxFileSizeBytes: 1e6,
      });
      const late = Buffer.concat([PNG, Buffer.from('late')]);
      const { runner } = setup({ chats, media: new Map([['https://cdn/late.png', late]]) }, { media });
      const second = await runner.runJob(
        (await startJob(inst, { depth: 'all', downloadMedia: true })).id,
        'w1',
      );
      expect(readProgress(second?.job?.progress)).toMatchObject({
        stored: 0,
        duplicates: 0,
        mediaDownloaded: 2,
        mediaFailed: 0,
      });
      const paths = await t.db
        .selectFrom('messages')
        .select('media_local_path')
        .where('instance_id', '=', inst)
        .execute();
      expect(paths.every((p) => p.media_local_path !== null)).toBe(true);
    });

    test('profile, contacts and groups parts of an "all" job', async () => {
      const inst = await newInstance();
      const { runner } = setup({
        chats: dataset(1, 3),
        contacts: [{ externalId: externalUserId('u1'), name: 'One', metadata: {} }],
        groups: [
          {
            externalId: 'g1',
            name: 'Guild',
            description: null,
            memberCount: 1,
            participants: [{ id: 'u1', role: 'owner' }],
            metadata: {},
          },
        ],
      });
      const job = await startJob(inst, { depth: 'all' }, 'all' as 'messages');
      const result = await runner.runJob(job.id, 'w1');
      expect(result?.status).toBe('completed');
      const p = readProgress(result?.job?.progress);
      expect(p.parts).toEqual({ profile: 'done', messages: 'done', contacts: 'done', groups: 'done' });
      expect(p.stored).toBe(3);
      const instance = await t.db
        .selectFrom('instances')
        .selectAll()
        .where('id', '=', inst)
        .executeTakeFirstOrThrow();
      expect(instance).toMatchObject({
        profile_name: 'Test Bot',
        profile_bio: 'a bot',
        owner_identifier: 'bot-123',
      });
      expect(instance.profile_metadata).toEqual({ botId: 'bot-123', guildCount: 2 });
      expect(instance.profile_synced_at).toBeInstanceOf(Date);
      expect(
        await t.db.selectFrom('contacts').select('name').where('instance_id', '=', inst).execute(),
      ).toEqual([{ name: 'One' }]);
      expect(
        await t.db
          .selectFrom('group_participants')
          .select(['participant_id', 'role'])
          .where('instance_id', '=', inst)
          .execute(),
      ).toEqual([{ participant_id: 'u1', role: 'owner' }]);
    });

    test("an abort with reason 'cancel' from the worker's heartbeat cancels the job", async () => {
      const inst = await newInstance();
      const chats = dataset(1, 30);
      const controller = new AbortController();
      const { runner } = setup(
        { chats, pageSize: 10 },
        {
          chatConcurrency: 1,
          onBatchCommitted: ({ batch }) => {
            if (batch === 2) controller.abort('cancel');
          },
        },
      );
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1', { signal: controller.signal });
      expect(result?.status).toBe('cancelled');
      expect(result?.job?.status).toBe('cancelled');
      expect(await messageCount(inst)).toBe(20);
    });

    test('sync.progress is throttled to at most one per 500 ms', async () => {
      const inst = await newInstance();
      const job = await startJob(inst, { depth: 'all', throttle: true });
      const lease = leaseOf((await jobs.claimJob(job.id, 'w1', 60_000)) ?? job);
      const clock = new VirtualClock(0);
      const events = new MemoryEventSink();
      const tracker = new ProgressTracker(job, {
        lease,
        jobs,
        events,
        clock,
        intervalMs: 500,
        onError: () => {},
      });
      for (let i = 0; i < 20; i += 1) {
        clock.advance(100);
        await tracker.maybeEmit();
      }
      expect(events.ofType('sync.progress').map((e) => Date.parse(e.at))).toEqual([100, 600, 1100, 1600]);
    });

    test('a shutdown signal gives the job back as pending with its checkpoints', async () => {
      const inst = await newInstance();
      const chats = dataset(1, 30);
      const controller = new AbortController();
      const { runner } = setup(
        { chats, pageSize: 10 },
        {
          chatConcurrency: 1,
          onBatchCommitted: ({ batch }) => {
            if (batch === 2) controller.abort();
          },
        },
      );
      const job = await startJob(inst);
      const result = await runner.runJob(job.id, 'w1', { signal: controller.signal });
      expect(result?.status).toBe('released');
      expect(result?.job?.status).toBe('pending');
      expect(await messageCount(inst)).toBe(20);
      const next = await setup({ chats, pageSize: 10 }).runner.runJob(job.id, 'w2');
      expect(next?.job?.id).toBe(job.id);
      expect(readProgress(next?.job?.progress)).toMatchObject({ fetched: 30, stored: 30, duplicates: 0 });
    });
  });
}
