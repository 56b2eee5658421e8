import type { Instance, Message, SyncJob } from '@omni/db';
import type { Static } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import type { InstanceDto } from '../schemas/instance.ts';
import type { Message as MessageSchema } from '../schemas/message.ts';
import type { SyncJobDetail, SyncJobSummary } from '../schemas/sync-job.ts';

const iso = (d: Date | string | null): string | null =>
  d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString();
const isoRequired = (d: Date | string): string => iso(d) as string;

/** An instance row as the API shows it. */
export function toInstanceDto(row: Instance): InstanceDto {
  return {
    id: row.id,
    name: row.name,
    channel: row.channel,
    isActive: row.is_active,
    connectionState: row.connection_state,
    isConnected: row.credentials !== null || row.connection_state === 'open',
    ownerIdentifier: row.owner_identifier,
    profileName: row.profile_name,
    profilePicUrl: row.profile_pic_url,
    profileBio: row.profile_bio,
    profileMetadata: row.profile_metadata,
    profileSyncedAt: iso(row.profile_synced_at),
    downloadMediaOnSync: row.download_media_on_sync,
    ...(row.omni_config as Partial<InstanceDto>),
    agentProviderId: (row.omni_config.agentProviderId as string | null | undefined) ?? null,
    agentId: (row.omni_config.agentId as string | null | undefined) ?? null,
    agentTimeout: (row.omni_config.agentTimeout as number | undefined) ?? 600,
    agentStreamMode: (row.omni_config.agentStreamMode as boolean | undefined) ?? false,
    isDefault: (row.omni_config.isDefault as boolean | undefined) ?? false,
    createdAt: isoRequired(row.created_at),
    updatedAt: isoRequired(row.updated_at),
  };
}

/**
 * How far a job is, 0–100, from counted facts: finished chats over known chats. `null` when
 * nothing can be said yet (running, chats not listed).
 */
export function progressPercent(job: Pick<SyncJob, 'status' | 'progress'>): number | null {
  if (job.status === 'completed') return 100;
  if (job.status === 'pending' && !job.progress.chatsTotal) return 0;
  const total = Number(job.progress.chatsTotal ?? 0);
  const done = Number(job.progress.chatsDone ?? 0);
  if (total > 0) {
    const percent = Math.floor((Math.min(done, total) / total) * 100);
    return job.status === 'running' ? Math.min(percent, 99) : percent;
  }
  return job.status === 'running' ? null : 0;
}

/** A job in detail. */
export function toJobDetail(job: SyncJob): Static<typeof SyncJobDetail> {
  return {
    jobId: job.id,
    instanceId: job.instance_id,
    type: job.type,
    status: job.status,
    config: job.config,
    progress: job.progress,
    progressPercent: progressPercent(job),
    errorMessage: job.error_message,
    attempts: job.attempts,
    cancelRequested: job.cancel_requested,
    createdAt: isoRequired(job.created_at),
    startedAt: iso(job.started_at),
    completedAt: iso(job.completed_at),
  };
}

/** A job in a list. */
export function toJobSummary(job: SyncJob): Static<typeof SyncJobSummary> {
  return {
    jobId: job.id,
    type: job.type,
    status: job.status,
    progressPercent: progressPercent(job),
    createdAt: isoRequired(job.created_at),
    completedAt: iso(job.completed_at),
  };
}

/**
 * Fields of stored media metadata that decrypt or fetch the platform's copy (WhatsApp's media key
 * and the path of the encrypted file) or that hold the bytes themselves: never in API answers.
 */
const SECRET_MEDIA_FIELDS = new Set([
  'mediaKey',
  'mediaKeyTimestamp',
  'directPath',
  'fileEncSha256',
  'base64',
]);

/** Media metadata without {@link SECRET_MEDIA_FIELDS}, at any depth. */
export function publicMediaMetadata<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((item) => publicMediaMetadata(item, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!SECRET_MEDIA_FIELDS.has(key)) out[key] = publicMediaMetadata(item, depth + 1);
  }
  return out as T;
}

/** A message row as the API shows it. */
export function toMessageDto(row: Message): Static<typeof MessageSchema> {
  return {
    id: row.id,
    instanceId: row.instance_id,
    chatId: row.chat_external_id,
    externalId: row.external_id,
    senderId: row.sender_id,
    senderName: row.sender_name,
    timestamp: isoRequired(row.sent_at),
    kind: row.kind,
    text: row.text,
    replyToId: row.reply_to_external_id,
    hasMedia: row.has_media,
    mediaMimeType: row.media_mime_type,
    mediaUrl: row.media_url,
    mediaLocalPath: row.media_local_path,
    mediaMetadata: publicMediaMetadata(row.media_metadata),
    source: row.source,
    editedAt: iso(row.edited_at),
    deletedAt: iso(row.deleted_at),
    createdAt: isoRequired(row.created_at),
  };
}

/** Encodes a keyset cursor. */
export function encodeCursor(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/**
 * One keyset page from rows fetched with `limit + 1`: the first `limit` rows, whether more follow,
 * and the cursor (built from the last row kept) that continues after them.
 */
export function keysetPage<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string[],
): { page: T[]; hasMore: boolean; cursor: string | null } {
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, hasMore, cursor: hasMore && last ? encodeCursor(cursorOf(last)) : null };
}

/** What a part of a keyset cursor must hold. */
export type CursorPart = 'timestamp' | 'uuid' | 'text';

const CURSOR_TIMESTAMP =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[ T]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const CURSOR_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CURSOR_TEXT = 1024;

const partValid = (kind: CursorPart, value: string): boolean =>
  kind === 'timestamp'
    ? CURSOR_TIMESTAMP.test(value)
    : kind === 'uuid'
      ? CURSOR_UUID.test(value)
      : value.length <= MAX_CURSOR_TEXT && !value.includes('\0');

/**
 * Decodes a keyset cursor whose parts are of the given kinds, or `null` when it is malformed or
 * forged (wrong count, a part not a string, a timestamp or uuid that is not one, a NUL).
 */
export function decodeCursor(cursor: string, kinds: readonly CursorPart[]): string[] | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === kinds.length &&
      value.every((v, i) => typeof v === 'string' && partValid(kinds[i] as CursorPart, v))
    )
      return value as string[];
  } catch {}
  return null;
}

/**
 * A `since`/`until` query value as a Date, or a 400 naming the parameter when JavaScript cannot
 * represent it (the schema's `date-time` format admits leap seconds and days like 02-30).
 */
export function queryDate(value: string, name: string): Date {
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999 || /:60(\.|Z|[+-]|$)/.test(value)) {
    throw ApiError.validation(`${name} is not a representable date-time`, [
      { in: 'querystring', path: `/${name}` },
    ]);
  }
  return date;
}

/** A 400 for a cursor {@link decodeCursor} refused. */
export const malformedCursor = () =>
  ApiError.validation('malformed cursor: pass back the cursor of the previous page as it was', [
    { in: 'querystring', path: '/cursor' },
  ]);
