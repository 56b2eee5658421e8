import { Type } from 'typebox';
import { JsonObject, NullableTimestamp, PageQuery, Timestamp, Uuid } from './common.ts';

/**
 * What a job syncs. `catchup` fetches, per chat, what is newer than its newest covered point (the
 * gap a disconnection or an outage left).
 */
export const SyncType = Type.Union([
  Type.Literal('profile'),
  Type.Literal('messages'),
  Type.Literal('contacts'),
  Type.Literal('groups'),
  Type.Literal('all'),
  Type.Literal('catchup'),
]);

/** How far back. */
export const SyncDepth = Type.Union([
  Type.Literal('7d'),
  Type.Literal('30d'),
  Type.Literal('90d'),
  Type.Literal('1y'),
  Type.Literal('all'),
]);

/** Lifecycle of a job. */
export const SyncStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);

/** Body of `POST /instances/:id/sync`. */
export const SyncRequestBody = Type.Object(
  {
    type: Type.Optional(SyncType),
    planId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 65_536,
        description:
          'Run exactly the selection a POST /instances/:id/sync/plan answered (instead of type/depth)',
      }),
    ),
    depth: Type.Optional(SyncDepth),
    channelId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    downloadMedia: Type.Optional(Type.Boolean()),
    force: Type.Optional(
      Type.Boolean({
        description:
          'Fetch the whole window again, ignoring what the coverage ledger says is stored (for edits and deletes).',
      }),
    ),
    chatJids: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
        maxItems: 50,
        description: 'messages: only these chats (WhatsApp JIDs, Discord channel ids)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /instances/:id/sync`. */
export const SyncJobCreated = Type.Object({
  jobId: Uuid,
  instanceId: Uuid,
  type: SyncType,
  status: SyncStatus,
  config: JsonObject,
  message: Type.String(),
});

/**
 * A job's progress (the `sync_jobs.progress` jsonb, see sync-core `SyncProgress`): counters, parts,
 * window, warnings; the fields below are the ones a running job's estimate is read from.
 */
export const SyncJobProgress = Type.Object(
  {
    etaSeconds: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
        description:
          'Seconds left: with estimatedTotal and no unestimatedChats, (estimatedTotal − fetched) at the rate observed since the run started; else from the share of the window covered; null when unknown',
      }),
    ),
    estimatedTotal: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'messages/catchup: messages the job is expected to fetch — the sync plan’s estimatedMessages (POST /instances/:id/sync/plan) over its window and chats, fixed when it starts',
      }),
    ),
    unestimatedChats: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Chats of the job with no stored history to estimate from (they add nothing to estimatedTotal)',
      }),
    ),
  },
  {
    additionalProperties: true,
    description:
      'Counted figures: fetched, stored, duplicates, updated, failed, media…, chats…, rateLimitWaits…',
  },
);

/** A job in detail. */
export const SyncJobDetail = Type.Object({
  jobId: Uuid,
  instanceId: Uuid,
  type: SyncType,
  status: SyncStatus,
  config: JsonObject,
  progress: SyncJobProgress,
  progressPercent: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()]),
  errorMessage: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  cancelRequested: Type.Boolean(),
  createdAt: Timestamp,
  startedAt: NullableTimestamp,
  completedAt: NullableTimestamp,
});

/** A job in a list. */
export const SyncJobSummary = Type.Object({
  jobId: Uuid,
  type: SyncType,
  status: SyncStatus,
  progressPercent: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()]),
  createdAt: Timestamp,
  completedAt: NullableTimestamp,
});

/** Query of `GET /instances/:id/sync`. */
export const SyncListQuery = Type.Object(
  {
    status: Type.Optional(
      Type.String({
        pattern:
          '^(pending|running|completed|failed|cancelled)(,(pending|running|completed|failed|cancelled))*$',
        description: 'statuses, comma-separated (pending,running)',
      }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

/** Body of `POST /instances/:id/resync`. */
export const ResyncBody = Type.Object(
  {
    since: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'window start: a duration back from now (`30m`, `2h`, `7d`, `90s`) or ISO 8601; default 2h',
      }),
    ),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'window end; default now' })),
    chatJids: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
        maxItems: 50,
        description: 'only these chats (WhatsApp JIDs, Discord channel ids)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /instances/:id/resync`. */
export const ResyncCreated = Type.Object({
  jobId: Uuid,
  instanceId: Uuid,
  since: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  chatIds: Type.Union([Type.Array(Type.String()), Type.Null()]),
  status: SyncStatus,
  message: Type.String(),
});

/** `:id/:jobId` path parameters. */
export const JobParams = Type.Object({ id: Uuid, jobId: Uuid });
