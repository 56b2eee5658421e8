import type { Static } from 'typebox';
import { type SyncJobDetail, SyncStatus, SyncType } from '../schemas/sync-job.ts';

/** A job in detail, as `GET /instances/:id/sync/:jobId` answers it. */
export type JobDetail = Static<typeof SyncJobDetail>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const TYPES = new Set<unknown>(SyncType.anyOf.map((branch) => branch.const));
const STATUSES = new Set<unknown>(SyncStatus.anyOf.map((branch) => branch.const));

const isTextOrNull = (value: unknown): boolean => value === null || typeof value === 'string';

const isCount = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 0;

/**
 * Whether `JSON.stringify` writes the document exactly as the route's schema serialiser would
 * (the same JSON value): every field the schema types holds that type already, so the serialiser
 * would neither coerce nor refuse anything. What the job repository and the runners write always
 * does; anything else (a progress hand-edited in the database) takes the schema serialiser.
 * Timestamps are checked for type only: they come from `Date#toISOString`.
 */
export function isPlainJobDetail(detail: JobDetail): boolean {
  const { progress } = detail;
  if (!isObject(progress) || !isObject(detail.config)) return false;
  if (progress.etaSeconds !== undefined && progress.etaSeconds !== null && !isCount(progress.etaSeconds)) {
    return false;
  }
  if (progress.estimatedTotal !== undefined && !isCount(progress.estimatedTotal)) return false;
  if (progress.unestimatedChats !== undefined && !isCount(progress.unestimatedChats)) return false;
  const percent = detail.progressPercent;
  if (percent !== null && !(isCount(percent) && percent <= 100)) return false;
  return (
    Number.isInteger(detail.attempts) &&
    typeof detail.cancelRequested === 'boolean' &&
    TYPES.has(detail.type) &&
    STATUSES.has(detail.status) &&
    typeof detail.jobId === 'string' &&
    typeof detail.instanceId === 'string' &&
    typeof detail.createdAt === 'string' &&
    isTextOrNull(detail.errorMessage) &&
    isTextOrNull(detail.startedAt) &&
    isTextOrNull(detail.completedAt)
  );
}

/**
 * `{ data: detail }` as JSON: `JSON.stringify` when {@link isPlainJobDetail}, else `serialize` (the
 * route's schema serialiser). The schema serialiser walks a job's progress key by key (an
 * open-ended object of ~20 counters, lists and parts), ~10 µs a document against ~2 µs — and a
 * running job's document changes with each of its progress events, so a fleet of polled running
 * jobs serialises thousands a second.
 */
export function jobDocumentJson(
  detail: JobDetail,
  serialize: (document: { data: JobDetail }) => string,
): string {
  const document = { data: detail };
  return isPlainJobDetail(detail) ? JSON.stringify(document) : serialize(document);
}
