/**
 * `bun run bench ingest [--rows N] [--per-chat P] [--batch B] [--conns 1,2] [--durability both|async|sync]
 *  [--naive-sample S] [--repeat R] [--copy-order fetch|ascending] [--variants copy,dedupe-writer,naive]`
 *
 * Ingests N messages (default 1,000,000; 10 % already present) into the local Postgres, in its
 * own database (dropped after), three ways, like for like, and prints one JSON line per variant,
 * connection count and durability, then a `summary` line per pair:
 *   copy           `psql \copy` of the new rows into an identical table (same constraints and
 *                  indexes, FK included; not the chats-count trigger of `messages`, ~1.4 ms per
 *                  writer batch, nor its change-feed triggers (migration 0015, ~0.05 ms per
 *                  100-row statement) — in COPY's favour): the database's limit, on `streams` parallel psql
 *                  processes — the SAME number as the writer's connections, each given a share of
 *                  the chats as the writer's connections are. Its COPY text is built and the psql
 *                  processes are connected BEFORE the clock starts; the clock covers sending the
 *                  text and psql's commit. COPY cannot skip duplicates, so it is given only the
 *                  90 % new rows, i.e. it does less work than the others. Rows go in the order the
 *                  writer sees them (`--copy-order fetch`) or sorted (`ascending`).
 *   dedupe-writer  sync-core's DedupeWriter as the runner uses it: one statement per batch of one
 *                  chat, fenced by the job's lease (INSERT … ON CONFLICT DO NOTHING RETURNING + chat
 *                  checkpoint + job progress + the chat's coverage ledger), C chats at once on C
 *                  `connections`. As in the runner's fetchSegment, a connection's next batch is
 *                  encoded (`prepareBatch`) while its previous one executes and is sent once that one
 *                  committed: still one statement at a time per connection, checkpoints in order.
 *                  Checked after: every row once, exact counters, each chat covered. Its line also
 *                  gives the CPU per input row of this process (`appCpuUsPerRow`: encoding, driver)
 *                  and of the database's Postgres backends (`pgCpuUsPerRow`), steadier than rows/s
 *                  on a shared machine.
 *   naive          the seed's approach: per message a SELECT by key, then an INSERT when absent,
 *                  each its own autocommit statement, on C `connections` at once, on a sample of
 *                  S messages (rows = S).
 * Durability is held equal: every variant runs with `synchronous_commit` off (the writer's
 * default, `asyncCommit`) and on (`--durability both`, the default), and every line says which
 * (`synchronousCommit`). Each run starts from the same state (table truncated, the same 10 %
 * loaded, VACUUM ANALYZE, CHECKPOINT). With `--repeat R` copy and dedupe-writer alternate R times
 * and the median run is printed (`runs` lists all): on a shared machine the load changes minute by
 * minute. `summary` lines: `writerVsCopy` (writer ÷ COPY rows/s at equal streams = connections)
 * and `writerVsNaive` (writer ÷ naive at equal connections), with the machine's load average.
 */
import { createDb, toJson } from '../packages/db/src/index.ts';
import { DedupeWriter, type NormalizedMessage } from '../packages/sync-core/src/index.ts';
import { createBenchDatabase } from './lib/bench-db.ts';
import { copyLine, psqlCopy, psqlCopyText } from './lib/copy-text.ts';
import { generateMessages } from './lib/message-generator.ts';
import { connect } from './lib/pg-client.ts';
import { cpuNow, cpuSince } from './lib/process-cpu.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const ROWS = Number(arg('rows', '1000000'));
const PER_CHAT = Number(arg('per-chat', '10000'));
const BATCH = Number(arg('batch', '5000'));
const CONNS = arg('conns', '1,2').split(',').map(Number);
const DURABILITY = arg('durability', 'both');
const SYNC_COMMITS = DURABILITY === 'both' ? [false, true] : [DURABILITY === 'sync'];
const NAIVE_SAMPLE = Number(arg('naive-sample', '20000'));
const REPEAT = Number(arg('repeat', '1'));
const COPY_ORDER = arg('copy-order', 'fetch') === 'ascending' ? 'ascending' : 'fetch';
const VARIANTS = arg('variants', 'copy,dedupe-writer,naive').split(',');
/** Upper edge of every chat's fetched span (the coverage the writer's batches extend). */
const UNTIL = Date.UTC(2026, 0, 1);

const log = (...parts: unknown[]) => console.error('[ingest]', ...parts);

const bench = await createBenchDatabase();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void bench.drop().finally(() => process.exit(130));
  });
}
const omni = await createDb({ databaseUrl: bench.url, poolSize: Math.max(...CONNS) + 2 });
const admin = await connect(bench.url);
try {
  const { db } = omni;
  const inst = await db
    .insertInto('instances')
    .values({ name: 'bench', channel: 'discord' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const instanceId = inst.id;
  await admin.query('CREATE TABLE messages_copy (LIKE messages INCLUDING ALL)');
  await admin.query(
    'ALTER TABLE messages_copy ADD FOREIGN KEY (instance_id) REFERENCES instances(id) ON DELETE CASCADE',
  );

  const t0 = performance.now();
  const chats = generateMessages(Math.ceil(ROWS / PER_CHAT), PER_CHAT).map((c, i, all) =>
    i === all.length - 1 ? c.slice(0, ROWS - PER_CHAT * (all.length - 1)) : c,
  );
  const all = chats.flat();
  const present = all.filter((_, i) => i % 10 === 0);
  const fresh = all.filter((_, i) => i % 10 !== 0);
  const presentSet = new Set(present);
  // The order the writer sees rows in: chat by chat, batches newest first, each batch oldest first.
  const fetchOrder: NormalizedMessage[] = [];
  for (const chat of chats) {
    for (let end = chat.length; end > 0; end -= BATCH)
      fetchOrder.push(...chat.slice(Math.max(0, end - BATCH), end));
  }
  const copyRows = COPY_ORDER === 'ascending' ? fresh : fetchOrder.filter((m) => !presentSet.has(m));
  log(`generated ${all.length} messages in ${chats.length} chats (${Math.round(performance.now() - t0)} ms)`);

  const reset = async (table: string) => {
    await admin.query(`TRUNCATE ${table}`);
    await psqlCopy(bench.url, table, instanceId, present);
    await admin.query(`VACUUM ANALYZE ${table}`);
    await admin.query('CHECKPOINT');
  };
  const count = async (table: string) =>
    Number((await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]?.n);
  const report = (variant: string, rows: number, seconds: number, extra: Record<string, unknown>) => {
    console.log(
      JSON.stringify({
        bench: 'ingest',
        variant,
        rows,
        seconds: Number(seconds.toFixed(3)),
        rowsPerSec: Math.round(rows / seconds),
        ...extra,
      }),
    );
  };

  // The COPY text of each stream, built once per stream count, before any clock starts. Stream k
  // gets chats k, k+C, … — the share of the chats the writer's k-th connection would take.
  const copyTexts = new Map<number, Buffer[]>();
  const textsFor = (streams: number): Buffer[] => {
    const cached = copyTexts.get(streams);
    if (cached) return cached;
    const chatIndex = new Map(chats.map((c, i) => [c[0]?.chatId, i]));
    const parts: string[][] = Array.from({ length: streams }, () => []);
    for (const m of copyRows) parts[(chatIndex.get(m.chatId) ?? 0) % streams]?.push(copyLine(instanceId, m));
    const texts = parts.map((lines) => Buffer.from(lines.join('')));
    copyTexts.set(streams, texts);
    return texts;
  };

  const runCopy = async (streams: number, syncCommit: boolean) => {
    await reset('messages_copy');
    const texts = textsFor(streams);
    const copied = await psqlCopyText(bench.url, 'messages_copy', texts, { synchronousCommit: syncCommit });
    const seconds = copied.seconds;
    const total = await count('messages_copy');
    if (total !== all.length) throw new Error(`copy left ${total} rows, expected ${all.length}`);
    await admin.query('TRUNCATE messages_copy');
    return {
      seconds,
      extra: {
        copied: copied.rows,
        streams,
        synchronousCommit: syncCommit,
        order: COPY_ORDER,
        note: 'COPY of the 90% new rows (cannot skip duplicates); text built and psql connected before the clock',
      },
    };
  };

  const runDedupe = async (conns: number, syncCommit: boolean) => {
    await reset('messages');
    await admin.query('DELETE FROM sync_jobs');
    await admin.query('DELETE FROM chat_coverage');
    const job = await db
      .insertInto('sync_jobs')
      .values({
        instance_id: instanceId,
        type: 'messages',
        status: 'running',
        config: '{}',
        progress: '{}',
        lease_owner: 'bench',
        lease_epoch: 1,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const lease = { jobId: job.id, owner: 'bench', epoch: 1 };
    await db
      .insertInto('sync_job_chats')
      .values(chats.map((c) => ({ job_id: job.id, chat_id: c[0]?.chatId ?? '', status: 'running' as const })))
      .execute();
    const writer = new DedupeWriter(db, { asyncCommit: !syncCommit });
    const queue = [...chats];
    let stored = 0;
    let duplicates = 0;
    const cpu = cpuNow(bench.name);
    const start = performance.now();
    await Promise.all(
      Array.from({ length: conns }, async () => {
        // As the runner's fetchSegment: the next batch is encoded (`prepareBatch`) while the one
        // before it executes, and sent only once that one committed — one statement at a time per
        // connection, checkpoints in order.
        let writing: Promise<void> | null = null;
        for (let chat = queue.shift(); chat; chat = queue.shift()) {
          // Newest first, as history is fetched; each batch oldest-first inside. Each batch also
          // extends the chat's coverage ledger as the runner's does (`[oldest + 1 ms, until)` while
          // more follows; the whole span, `exhausted`, with the last batch).
          for (let end = chat.length; end > 0; end -= BATCH) {
            const messages = chat.slice(Math.max(0, end - BATCH), end);
            const last = end - BATCH <= 0;
            const oldest = messages[0]?.timestamp ?? 0;
            const prepared = writer.prepareBatch({
              instanceId,
              messages,
              returnInserted: 'withMedia',
              checkpoint: {
                lease,
                chatId: chat[0]?.chatId ?? '',
                cursor: { before: messages[0]?.externalId ?? null },
                ...(last ? { exhausted: true } : {}),
                coverage: last
                  ? { from: 0, to: UNTIL, fromReason: 'exhausted', toReason: 'depth' }
                  : { from: oldest + 1, to: UNTIL, fromReason: 'failed', toReason: 'depth' },
              },
            });
            await writing;
            writing = writer.writeBatch(prepared).then((r) => {
              stored += r.stored;
              duplicates += r.duplicates;
            });
            // As the runner: the driver sends the statement before the next batch is encoded.
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        }
        await writing;
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const used = cpuSince(cpu);
    const total = await count('messages');
    const progress = await db
      .selectFrom('sync_jobs')
      .select('progress')
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    const progressStored = (progress.progress as { stored?: number }).stored;
    const coverage = await admin.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM chat_coverage WHERE instance_id = $1 AND from_at = to_timestamp(0)
         AND to_at = to_timestamp($2::float8 / 1000) AND from_reason = 'exhausted'`,
      [instanceId, UNTIL],
    );
    const covered = Number(coverage.rows[0]?.n);
    if (
      total !== all.length ||
      stored !== fresh.length ||
      duplicates !== present.length ||
      progressStored !== stored ||
      covered !== chats.length
    ) {
      throw new Error(
        `dedupe-writer: ${total} rows, stored ${stored}, duplicates ${duplicates}, ${covered} chats covered`,
      );
    }
    return {
      seconds,
      extra: {
        stored,
        duplicates,
        progressStored,
        batch: BATCH,
        coverage: 'per batch',
        appCpuUsPerRow: Number(((used.selfMs * 1000) / all.length).toFixed(2)),
        pgCpuUsPerRow:
          used.postgresMs === null ? null : Number(((used.postgresMs * 1000) / all.length).toFixed(2)),
        connections: conns,
        synchronousCommit: syncCommit,
      },
    };
  };

  const median = <T extends { seconds: number }>(list: T[]): T =>
    [...list].sort((x, y) => x.seconds - y.seconds)[Math.floor((list.length - 1) / 2)] as T;

  const runNaive = async (conns: number, syncCommit: boolean) => {
    await reset('messages');
    const step = Math.max(1, Math.floor(all.length / NAIVE_SAMPLE));
    const sample: NormalizedMessage[] = [];
    // Spread over the whole input; an index ≡ k (mod 10) keeps the share of already-present
    // messages (every 10th) at 10 % whatever the step (k * step + k % 10 did only for steps that are
    // multiples of 10: 20 % with --rows 300000).
    for (let k = 0; k < NAIVE_SAMPLE && k * step < all.length; k += 1) {
      const index = Math.floor((k * step) / 10) * 10 + (k % 10);
      sample.push(all[Math.min(all.length - 1, index)] as NormalizedMessage);
    }
    const clients = await Promise.all(Array.from({ length: conns }, () => connect(bench.url)));
    for (const client of clients) await client.query(`SET synchronous_commit = ${syncCommit ? 'on' : 'off'}`);
    let inserted = 0;
    let next = 0;
    const start = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (let i = next++; i < sample.length; i = next++) {
          const m = sample[i] as NormalizedMessage;
          const found = await client.query({
            name: 'naive-find',
            text: 'SELECT id FROM messages WHERE instance_id = $1 AND chat_external_id = $2 AND external_id = $3 LIMIT 1',
            values: [instanceId, m.chatId, m.externalId],
          });
          if (found.rows.length > 0) continue;
          await client.query({
            name: 'naive-insert',
            text: `INSERT INTO messages (instance_id, chat_external_id, external_id, sender_id, sender_name, sent_at, kind,
              text, has_media, source, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'sync', $10)`,
            values: [
              instanceId,
              m.chatId,
              m.externalId,
              m.senderId,
              m.senderName,
              new Date(m.timestamp),
              m.kind,
              m.text,
              m.media.length > 0,
              toJson(m.raw),
            ],
          });
          inserted += 1;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    await Promise.all(clients.map((c) => c.end()));
    return {
      rows: sample.length,
      seconds,
      extra: {
        inserted,
        alreadyPresent: sample.length - inserted,
        connections: conns,
        synchronousCommit: syncCommit,
        sample: true,
        note: `select-then-insert per message on a ${sample.length}-message sample, autocommit`,
      },
    };
  };

  for (const syncCommit of SYNC_COMMITS) {
    for (const conns of CONNS) {
      // COPY and the writer alternate run by run so a change in machine load hits both alike.
      const runs: Record<string, { seconds: number; extra: Record<string, unknown> }[]> = {};
      for (let r = 0; r < REPEAT; r += 1) {
        for (const [name, fn] of [
          ['copy', runCopy],
          ['dedupe-writer', runDedupe],
        ] as const) {
          if (!VARIANTS.includes(name)) continue;
          const result = await fn(conns, syncCommit);
          log(`${name} ×${conns} sync=${syncCommit} run ${r + 1}: ${result.seconds.toFixed(2)} s`);
          const list = runs[name] ?? [];
          list.push(result);
          runs[name] = list;
        }
      }
      const rate: Record<string, number> = {};
      for (const [name, list] of Object.entries(runs)) {
        const m = median(list);
        rate[name] = all.length / m.seconds;
        report(name, all.length, m.seconds, {
          ...m.extra,
          ...(list.length > 1 ? { runs: list.map((x) => Number(x.seconds.toFixed(3))) } : {}),
        });
      }
      if (VARIANTS.includes('naive')) {
        const naive = await runNaive(conns, syncCommit);
        rate.naive = naive.rows / naive.seconds;
        report('naive', naive.rows, naive.seconds, naive.extra);
      }
      const ratio = (a: string, b: string) =>
        rate[a] && rate[b] ? Number(((rate[a] as number) / (rate[b] as number)).toFixed(3)) : null;
      console.log(
        JSON.stringify({
          bench: 'ingest',
          variant: 'summary',
          connections: conns,
          streams: conns,
          synchronousCommit: syncCommit,
          writerVsCopy: ratio('dedupe-writer', 'copy'),
          writerVsNaive: ratio('dedupe-writer', 'naive'),
          targets: { writerVsCopy: 0.75, writerVsNaive: 12 },
          loadavg: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))),
        }),
      );
    }
  }
} finally {
  await admin.end().catch(() => {});
  await omni.close().catch(() => {});
  await bench.drop();
}
