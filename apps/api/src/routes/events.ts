import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { errorResponses, JsonObject, List, PageQuery, Timestamp, Uuid } from '../schemas/common.ts';
import { decodeCursor, keysetPage, malformedCursor } from '../services/mappers.ts';

/** A sync event as Omni's event list shows events. */
const SyncEventItem = Type.Object({
  id: Type.String({ description: '`<jobId>:<eventType>`' }),
  eventType: Type.String({ description: 'sync.started | sync.completed | sync.failed | sync.cancelled' }),
  instanceId: Uuid,
  channel: Type.String(),
  receivedAt: Timestamp,
  jobId: Uuid,
  jobType: Type.String(),
  errorMessage: Type.Union([Type.String(), Type.Null()]),
  payload: JsonObject,
});

const EventsQuery = Type.Object(
  {
    instanceId: Type.Optional(Uuid),
    eventType: Type.Optional(Type.String({ maxLength: 500, description: 'event types, comma-separated' })),
    channel: Type.Optional(Type.String({ maxLength: 200, description: 'channels, comma-separated' })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * `GET /events`: the sync events, newest first. They are read from the jobs themselves (a job's
 * `started_at` is its `sync.started`, its `completed_at` its terminal event), so there is no
 * second record to keep in step; a job resumed after a failure shows its latest run.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Sync events (started, completed, failed, cancelled), newest first, filtered and paged',
        querystring: EventsQuery,
        response: { 200: List(SyncEventItem), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const db = app.deps.db.db;
      const events = db
        .selectFrom('sync_jobs as j')
        .innerJoin('instances as i', 'i.id', 'j.instance_id')
        .select([
          'j.id as job_id',
          'j.instance_id',
          'j.type as job_type',
          'j.error_message',
          'j.progress',
          'i.channel',
          sql<string>`'sync.started'`.as('event_type'),
          sql<Date>`j.started_at`.as('received_at'),
        ])
        .where('j.started_at', 'is not', null)
        .unionAll(
          db
            .selectFrom('sync_jobs as j')
            .innerJoin('instances as i', 'i.id', 'j.instance_id')
            .select([
              'j.id as job_id',
              'j.instance_id',
              'j.type as job_type',
              'j.error_message',
              'j.progress',
              'i.channel',
              sql<string>`'sync.' || j.status`.as('event_type'),
              sql<Date>`j.completed_at`.as('received_at'),
            ])
            .where('j.status', 'in', ['completed', 'failed', 'cancelled'])
            .where('j.completed_at', 'is not', null),
        );
      let query = db
        .selectFrom(events.as('e'))
        .selectAll('e')
        .select(sql<string>`e.job_id || ':' || e.event_type`.as('id'))
        .select(
          sql<string>`to_char(e.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
            'received_text',
          ),
        );
      if (q.instanceId) query = query.where('e.instance_id', '=', q.instanceId);
      const types = list(q.eventType);
      if (types.length > 0) query = query.where('e.event_type', 'in', types);
      const channels = list(q.channel);
      if (channels.length > 0) query = query.where(sql<string>`e.channel`, 'in', channels);
      if (q.since) query = query.where('e.received_at', '>=', new Date(q.since));
      if (q.until) query = query.where('e.received_at', '<', new Date(q.until));
      if (q.cursor) {
        const parts = decodeCursor(q.cursor, ['timestamp', 'text']);
        if (!parts) throw malformedCursor();
        query = query.where(
          sql<boolean>`(e.received_at, e.job_id || ':' || e.event_type) < (${parts[0]}::timestamptz, ${parts[1]})`,
        );
      }
      const rows = await query
        .orderBy('e.received_at', 'desc')
        .orderBy(sql`e.job_id || ':' || e.event_type`, 'desc')
        .limit(limit + 1)
        .execute();
      const page = keysetPage(rows, limit, (last) => [last.received_text, last.id]);
      return {
        items: page.page.map((e) => ({
          id: e.id,
          eventType: e.event_type,
          instanceId: e.instance_id,
          channel: e.channel,
          receivedAt: e.received_at.toISOString(),
          jobId: e.job_id,
          jobType: e.job_type,
          errorMessage: e.error_message,
          payload: { jobId: e.job_id, jobType: e.job_type, progress: e.progress },
        })),
        meta: { hasMore: page.hasMore, cursor: page.cursor },
      };
    },
  );
};
