import type { NormalizedMessage } from '../../packages/sync-core/src/index.ts';

/** Columns written by every ingest variant, in COPY order. */
export const MESSAGE_COLUMNS = [
  'instance_id',
  'chat_external_id',
  'external_id',
  'sender_id',
  'sender_name',
  'sent_at',
  'kind',
  'text',
  'reply_to_external_id',
  'target_external_id',
  'has_media',
  'media_mime_type',
  'media_url',
  'media_metadata',
  'source',
  'edited_at',
  'deleted_at',
  'raw',
] as const;

const SPECIAL = /[\\\t\n\r]/;

function field(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (!SPECIAL.test(value)) return value;
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
}

/** One message as a line of COPY text format. */
export function copyLine(instanceId: string, m: NormalizedMessage): string {
  return `${[
    instanceId,
    field(m.chatId),
    field(m.externalId),
    field(m.senderId),
    field(m.senderName),
    new Date(m.timestamp).toISOString(),
    m.kind,
    field(m.text),
    field(m.replyToId),
    field(m.targetId),
    m.media.length > 0 ? 't' : 'f',
    '\\N',
    '\\N',
    '\\N',
    'sync',
    '\\N',
    '\\N',
    field(JSON.stringify(m.raw)),
  ].join('\t')}\n`;
}

/**
 * Streams rows into `table` with `psql \copy … FROM pstdin` (the C client: the fastest way in).
 * Resolves with the number of rows psql reports.
 */
export async function psqlCopy(
  url: string,
  table: string,
  instanceId: string,
  messages: Iterable<NormalizedMessage>,
): Promise<number> {
  const proc = Bun.spawn(
    [
      'psql',
      url,
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy ${table} (${MESSAGE_COLUMNS.join(', ')}) FROM pstdin`,
    ],
    { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' },
  );
  let chunk = '';
  for (const m of messages) {
    chunk += copyLine(instanceId, m);
    if (chunk.length > 1 << 20) {
      proc.stdin.write(chunk);
      await proc.stdin.flush();
      chunk = '';
    }
  }
  if (chunk) proc.stdin.write(chunk);
  await proc.stdin.end();
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`psql \\copy failed (${code}): ${err}`);
  const m = /COPY (\d+)/.exec(out);
  return m ? Number(m[1]) : -1;
}

/**
 * COPY of prepared text on `texts.length` parallel psql processes (one stream each), timed from
 * the first byte sent to the last psql's commit: the processes are started and connected before
 * the clock, and the text is built by the caller before it. `synchronousCommit` sets the session's
 * `synchronous_commit` (PGOPTIONS), so durability can be held equal with the writer.
 */
export async function psqlCopyText(
  url: string,
  table: string,
  texts: Buffer[],
  options: { synchronousCommit: boolean },
): Promise<{ rows: number; seconds: number }> {
  const procs = texts.map(() =>
    Bun.spawn(
      [
        'psql',
        url,
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        'SELECT 1',
        '-c',
        `\\copy ${table} (${MESSAGE_COLUMNS.join(', ')}) FROM pstdin`,
      ],
      {
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        env: {
          ...process.env,
          PGOPTIONS: `-c synchronous_commit=${options.synchronousCommit ? 'on' : 'off'}`,
        },
      },
    ),
  );
  // Connected: each psql answered its `SELECT 1` before reading stdin.
  const readers = procs.map((p) => p.stdout.getReader());
  const outputs = procs.map(() => '');
  const decoder = new TextDecoder();
  await Promise.all(
    readers.map(async (reader, i) => {
      while (!/\(1 row\)/.test(outputs[i] as string)) {
        const { value, done } = await reader.read();
        if (done) break;
        outputs[i] += decoder.decode(value);
      }
    }),
  );
  const start = performance.now();
  await Promise.all(
    procs.map(async (p, i) => {
      p.stdin.write(texts[i] as Buffer);
      await p.stdin.end();
    }),
  );
  const results = await Promise.all(
    procs.map(async (p, i) => {
      const reader = readers[i] as ReadableStreamDefaultReader<Uint8Array>;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        outputs[i] += decoder.decode(value);
      }
      return { code: await p.exited, err: await new Response(p.stderr).text() };
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  let rows = 0;
  results.forEach(({ code, err }, i) => {
    if (code !== 0) throw new Error(`psql \\copy failed (${code}): ${err}`);
    rows += Number(/COPY (\d+)/.exec(outputs[i] as string)?.[1] ?? 0);
  });
  return { rows, seconds };
}
