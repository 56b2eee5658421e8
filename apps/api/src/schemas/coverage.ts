import { Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from './common.ts';
import { SyncDepth } from './sync-job.ts';

/** Why an edge of a covered range stops there. */
export const CoverageReason = Type.Union(
  [
    Type.Literal('depth'),
    Type.Literal('exhausted'),
    Type.Literal('not-permitted'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
    Type.Literal('live'),
  ],
  {
    description:
      'depth: the window asked ended there; exhausted: the platform has nothing older; not-permitted; failed: fetching stopped there on an error or was interrupted; cancelled; live: newer messages arrive live (extended by messages received live on a connection open since before the range ended: WhatsApp only; Discord and Slack have no realtime ingestion here)',
  },
);

/** Why a part of the window is missing. */
export const GapReason = Type.Union([CoverageReason, Type.Literal('never-synced')]);

/** Query of `GET /instances/:id/coverage`. */
export const CoverageQuery = Type.Object(
  {
    depth: Type.Optional(SyncDepth),
    chatId: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Only this chat' })),
  },
  { additionalProperties: false },
);

const Range = Type.Object({
  from: Timestamp,
  to: Timestamp,
  fromReason: CoverageReason,
  toReason: CoverageReason,
});

const Gap = Type.Object({ from: Timestamp, to: Timestamp, reason: GapReason });

/** One chat of the coverage report. */
export const ChatCoverage = Type.Object({
  chatId: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  ranges: Type.Array(Range, { description: 'Time ranges stored completely, oldest first (merged)' }),
  gaps: Type.Array(Gap, {
    description: 'Holes inside the window below the newest covered point, newest first',
  }),
  tail: Type.Union([Type.Object({ from: Timestamp, to: Timestamp }), Type.Null()], {
    description: 'Newer than the newest covered point: not synced since (a catchup fetches it)',
  }),
  complete: Type.Boolean({ description: 'No gap inside the window (the tail aside)' }),
  live: Type.Boolean({
    description:
      'The newest covered edge is live: the ledger was last extended by messages received live (WhatsApp while its socket stays open); newer ones arrive the same way',
  }),
  notPermitted: Type.Union([Type.String(), Type.Null()]),
  storedCount: Type.Integer(),
  oldestMessageAt: NullableTimestamp,
  newestMessageAt: NullableTimestamp,
});

/** `GET /instances/:id/coverage`. */
export const CoverageReport = Type.Object({
  instanceId: Uuid,
  depth: SyncDepth,
  since: NullableTimestamp,
  until: Timestamp,
  summary: Type.Object({
    chats: Type.Integer(),
    complete: Type.Integer(),
    withGaps: Type.Integer(),
    neverSynced: Type.Integer(),
    notPermitted: Type.Integer(),
    live: Type.Integer({ description: 'chats whose newest covered edge is live' }),
    gapReasons: Type.Record(Type.String(), Type.Integer()),
    storedMessages: Type.Integer(),
  }),
  chats: Type.Array(ChatCoverage),
});

/** Body of `POST /instances/:id/sync/plan`. */
export const SyncPlanBody = Type.Object(
  {
    type: Type.Union([Type.Literal('messages'), Type.Literal('catchup')]),
    depth: Type.Optional(SyncDepth),
    chatIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);

const PlanWindow = Type.Object({
  from: Timestamp,
  to: Timestamp,
  estimatedMessages: Type.Union([Type.Integer(), Type.Null()]),
  estimatedRequests: Type.Union([Type.Integer(), Type.Null()]),
});

/** `POST /instances/:id/sync/plan`: what a sync would fetch, estimated; nothing stored. */
export const SyncPlan = Type.Object({
  planId: Type.String({
    description: 'Pass to POST /instances/:id/sync as {planId} to run exactly this selection',
  }),
  type: Type.String(),
  depth: SyncDepth,
  since: NullableTimestamp,
  until: Timestamp,
  estimatedMessages: Type.Integer(),
  estimatedRequests: Type.Integer({ description: 'history requests of the sync, plus probeRequests' }),
  probeRequests: Type.Integer({
    description: 'probe requests the plan made (through the same rate budget); counted in estimatedRequests',
  }),
  unestimatedChats: Type.Integer(),
  etaSeconds: Type.Integer({
    description:
      "estimatedRequests at the pace: the instance's messagesPerMinute budget, or the platform's own history limit when that is tighter",
  }),
  pacing: Type.Object(
    {
      pageSize: Type.Integer({ description: 'messages per history request the estimate assumes' }),
      requestsPerMinute: Type.Number({ description: 'history requests per minute the ETA assumes' }),
      reason: Type.String({
        description:
          'where that pace comes from (the budget setting, or the platform: e.g. a Slack unlisted app)',
      }),
    },
    { description: 'The paging and pace the estimate and ETA assume' },
  ),
  method: Type.String(),
  chats: Type.Array(
    Type.Object({
      chatId: Type.String(),
      messagesPerDay: Type.Union([Type.Integer(), Type.Null()]),
      windows: Type.Array(PlanWindow),
      probe: Type.Union(
        [
          Type.Object({
            oldestAt: Type.Optional(NullableTimestamp),
            sampled: Type.Integer(),
            complete: Type.Boolean(),
          }),
          Type.Null(),
        ],
        {
          description:
            "The one probe request of the chat's lowest window: the oldest message it saw in the window (null: none; absent: the platform pages from the newest end), messages seen, and whether that was all of the window",
        },
      ),
    }),
  ),
});
