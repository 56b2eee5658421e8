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
