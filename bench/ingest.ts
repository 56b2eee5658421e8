/**
 * `bun run bench ingest [--rows N] [--per-chat P] [--batch B] [--conns C] [--sync-commit]
 *  [--naive-sample S] [--repeat R] [--copy-order fetch|ascending] [--variants copy,dedupe-writer,naive]`
 *
 * Ingests N messages (default 1,000,000; 10 % already present) into the local Postgres, in its
 * own database (dropped after), three ways, and prints one JSON line per variant:
 *   copy           `psql \copy` of the new rows into an identical table (same constraints and
 *                  indexes, FK included): the database's limit. COPY cannot skip duplicates, so
 *                  it is given only the 90 % new rows, i.e. it does less work than the others.
 *                  Rows go in the order the writer sees them (`--copy-order fetch`: chat by chat,
 *                  batches newest first as history is paged) or sorted (`ascending`), which is
 *                  kinder to the indexes (appends at their right edge).
 *   dedupe-writer  sync-core's DedupeWriter as the runner uses it: one transaction per batch of
 *                  one chat (unnest INSERT … ON CONFLICT DO NOTHING RETURNING + chat checkpoint +
 *                  job progress), C chats at once on C connections.
 *   naive          the seed's approach: per message a SELECT by key, then an INSERT when absent,
 *                  autocommit, one connection; run on a sample of S messages (rows = S).
 * Each variant starts from the same state (table truncated, the same 10 % loaded, ANALYZE,
 * CHECKPOINT). Timing covers only the ingest itself; generating the messages is not timed. With
 * `--repeat R` copy and dedupe-writer alternate R times and the median run is printed (`runs` lists
 * all): on a shared machine the load changes from minute to minute.
 */
import { createDb, toJson } from '../packages/db/src/index.ts';
import { DedupeWriter, type NormalizedMessage } from '../packages/sync-core/src/index.ts';
import { createBenchDatabase } from './lib/bench-db.ts';
import { psqlCopy } from './lib/copy-text.ts';
import { generateMessages } from './lib/message-generator.ts';
import { connect } from './lib/pg-client.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const ROWS = Number(arg('rows', '1000000'));
const PER_CHAT = Number(arg('per-chat', '10000'));
const BATCH = Number(arg('batch', '5000'));
const CONNS = Number(arg('conns', '2'));
const ASYNC_COMMIT = !process.argv.includes('--sync-commit');
const NAIVE_SAMPLE = Number(arg('naive-sample', '20000'));
const REPEAT = Number(arg('repeat', '1'));
const COPY_ORDER = arg('copy-order', 'fetch') === 'ascending' ? 'ascending' : 'fetch';
const VARIANTS = arg('variants', 'copy,dedupe-writer,naive').split(',');

const log = (...parts: unknown[]) => console.error('[ingest]', ...parts);

const bench = await createBenchDatabase();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void bench.drop().finally(() => process.exit(130));
  });
}
const omni = await createDb({ databaseUrl: bench.url, poolSize: CONNS + 2 });
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

  const runCopy = async () => {
    await reset('messages_copy');
    const start = performance.now();
    const copied = await psqlCopy(bench.url, 'messages_copy', instanceId, copyRows);
    const seconds = (performance.now() - start) / 1000;
    const total = await count('messages_copy');
    if (total !== all.length) throw new Error(`copy left ${total} rows, expected ${all.length}`);
    await admin.query('TRUNCATE messages_copy');
    return {
      seconds,
      extra: {
        copied,
        order: COPY_ORDER,
        note: 'COPY of the 90% new rows (cannot skip duplicates)',
      },
    };
  };

  const runDedupe = async () => {
    await reset('messages');
    await admin.query('DELETE FROM sync_jobs');
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
    const writer = new DedupeWriter(db, { asyncCommit: ASYNC_COMMIT });
    const queue = [...chats];
    let stored = 0;
    let duplicates = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONNS }, async () => {
        for (let chat = queue.shift(); chat; chat = queue.shift()) {
          // Newest first, as history is fetched; each batch oldest-first inside.
          for (let end = chat.length; end > 0; end -= BATCH) {
            const messages = chat.slice(Math.max(0, end - BATCH), end);
            const r = await writer.writeBatch({
              instanceId,
              messages,
              returnInserted: 'withMedia',
              checkpoint: {
                lease,
                chatId: chat[0]?.chatId ?? '',
                cursor: { before: messages[0]?.externalId ?? null },
              },
            });
            stored += r.stored;
            duplicates += r.duplicates;
          }
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const total = await count('messages');
    const progress = await db
      .selectFrom('sync_jobs')
      .select('progress')
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    const progressStored = (progress.progress as { stored?: number }).stored;
    if (
      total !== all.length ||
      stored !== fresh.length ||
      duplicates !== present.length ||
      progressStored !== stored
    ) {
      throw new Error(`dedupe-writer: ${total} rows, stored ${stored}, duplicates ${duplicates}`);
    }
    return {
      seconds,
      extra: {
        stored,
        duplicates,
        progressStored,
        batch: BATCH,
        connections: CONNS,
        asyncCommit: ASYNC_COMMIT,
      },
    };
  };

  // Variants alternate run by run so a change in machine load hits both alike; the median is reported.
  const runs: Record<string, { seconds: number; extra: Record<string, unknown> }[]> = {};
  for (let r = 0; r < REPEAT; r += 1) {
    for (const [name, fn] of [
      ['copy', runCopy],
      ['dedupe-writer', runDedupe],
    ] as const) {
      if (!VARIANTS.includes(name)) continue;
      const result = await fn();
      log(`${name} run ${r + 1}: ${result.seconds.toFixed(2)} s`);
      const list = runs[name] ?? [];
      list.push(result);
      runs[name] = list;
    }
  }
  for (const [name, list] of Object.entries(runs)) {
    const sorted = [...list].sort((x, y) => x.seconds - y.seconds);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as (typeof list)[number];
    report(name, all.length, median.seconds, {
      ...median.extra,
      ...(list.length > 1 ? { runs: list.map((x) => Number(x.seconds.toFixed(3))) } : {}),
    });
  }

  if (VARIANTS.includes('naive')) {
    await reset('messages');
    const step = Math.max(1, Math.floor(all.length / NAIVE_SAMPLE));
    const sample: NormalizedMessage[] = [];
    // Spread over the whole input; k % 10 keeps the share of already-present messages at 10 %.
    for (let k = 0; k < NAIVE_SAMPLE && k * step < all.length; k += 1) {
      sample.push(all[Math.min(all.length - 1, k * step + (k % 10))] as NormalizedMessage);
    }
    const client = await connect(bench.url);
    let inserted = 0;
    const start = performance.now();
    for (const m of sample) {
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
    const seconds = (performance.now() - start) / 1000;
    await client.end();
    report('naive', sample.length, seconds, {
      inserted,
      alreadyPresent: sample.length - inserted,
      sample: true,
      note: `select-then-insert per message on a ${sample.length}-message sample, autocommit`,
    });
  }
} finally {
  await admin.end().catch(() => {});
  await omni.close().catch(() => {});
  await bench.drop();
}
