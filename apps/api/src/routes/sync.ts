import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SyncJob } from '@omni/db';
import type { SyncJobConfig } from '@omni/sync-core';
import { Type } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import { ApiKeyQuery, Data, errorResponses, IdParams, List } from '../schemas/common.ts';
import { Profile } from '../schemas/instance.ts';
import {
  JobParams,
  ResyncBody,
  ResyncCreated,
  SyncJobCreated,
  SyncJobDetail,
  SyncJobSummary,
  SyncListQuery,
  SyncRequestBody,
  SyncType,
} from '../schemas/sync-job.ts';
import { InstanceService } from '../services/instance-service.ts';
import { jobDocumentJson } from '../services/job-document.ts';
import { jobEvent } from '../services/job-event.ts';
import { streamJobEvents } from '../services/job-event-stream.ts';
import { decodeCursor, malformedCursor, toJobDetail, toJobSummary } from '../services/mappers.ts';
import { decodePlanId } from '../services/plan-id.ts';

const DURATION = /^(\d{1,9})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A resync's start: a duration back from `now` (`30m`, `2h`), or an ISO 8601 instant; default 2 h ago. */
export function parseSince(text: string | undefined, now: number): number {
  if (text === undefined) return now - 2 * UNIT_MS.h;
  const duration = DURATION.exec(text);
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) {
    throw ApiError.validation('since must be a duration (30m, 2h, 7d) or an ISO 8601 time', [
      { in: 'body', path: '/since' },
    ]);
  }
  return at;
}

/** Sync jobs of an instance: create, resync a window, profile now, list, read, cancel, resume, events (SSE). */
export const syncRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const instances = new InstanceService(app.deps);
  const tags = ['sync'];

  /** Response bodies of job snapshots, kept as long as the snapshot is. */
  const serialized = new WeakMap<SyncJob, string>();

  /** The instance, when a job can start for it: connected (409) and its channel installed (503). */
  const startable = async (id: string) => {
    const instance = await instances.get(id);
    if (!InstanceService.isConnected(instance)) {
      throw ApiError.conflict('the instance is not connected: POST /instances/:id/connect first');
    }
    if (!app.deps.plugins.has(instance.channel)) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', `the ${instance.channel} channel is not installed here`);
    }
    return instance;
  };

  /** The job of the instance as it is now (a 404 when either is missing). */
  const jobOf = (instanceId: string, jobId: string): Promise<SyncJob> =>
    app.jobSnapshots.get(instanceId, jobId, { fresh: true });

  app.post(
    '/instances/:id/sync',
    {
      schema: {
        tags,
        summary: 'Start a sync job (an identical pending/running job is returned instead)',
        params: IdParams,
        body: SyncRequestBody,
        response: { 202: Data(SyncJobCreated), ...errorResponses(400, 401, 404, 409, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const instance = await startable(request.params.id);
      const plugin = app.deps.plugins.get(instance.channel);
      const { channelId, downloadMedia, force } = request.body;
      let { type, depth, chatJids } = request.body;
      let planUntil: string | null = null;
      let planEstimate: SyncJobConfig['planEstimate'] | null = null;
      if (request.body.planId !== undefined) {
        const plan = decodePlanId(request.body.planId, instance.id);
        if (plan.chatIds.length === 0) throw ApiError.unprocessable('the plan has nothing to fetch');
        type = plan.type;
        depth = plan.depth;
        chatJids = plan.chatIds;
        planUntil = new Date(plan.until).toISOString();
        planEstimate = plan.estimate ?? null;
      }
      if (type === undefined) {
        throw ApiError.validation('type (or planId) is required', [{ in: 'body', path: '/type' }]);
      }
      const part = type === 'catchup' ? 'messages' : type;
      if (part !== 'all' && !plugin.capabilities.parts.includes(part)) {
        throw ApiError.unprocessable(`the ${instance.channel} channel cannot sync ${type}`);
      }
      const config: SyncJobConfig = {};
      if (type === 'messages' || type === 'all') {
        config.depth = depth ?? (await app.deps.settings.get('sync.defaultDepth'));
        config.downloadMedia = downloadMedia ?? instance.download_media_on_sync;
        if (force === true) config.force = true;
      }
      if (type === 'catchup') config.downloadMedia = downloadMedia ?? instance.download_media_on_sync;
      if (channelId !== undefined) {
        instances.checkChatId(instance, channelId, { in: 'body', path: '/channelId' });
        config.channelId = channelId;
      }
      chatJids?.forEach((id, i) => {
        instances.checkChatId(instance, id, { in: 'body', path: `/chatJids/${i}` });
      });
      if (chatJids?.length && (type === 'messages' || type === 'all' || type === 'catchup'))
        config.chatIds = [...new Set(chatJids)];
      if (planUntil !== null) config.until = planUntil;
      if (planEstimate !== null) config.planEstimate = planEstimate;
      const { job, created } = await app.deps.jobs.createJob(instance.id, type, config, {
        maxPending: await app.deps.settings.get('sync.maxPendingJobsPerInstance'),
      });
      if (created) await app.deps.queue.dispatch({ jobId: job.id, instanceId: instance.id });
      return reply.status(202).send({
        data: {
          jobId: job.id,
          instanceId: job.instance_id,
          type: job.type,
          status: job.status,
          config: job.config,
          message: created
            ? `${type} sync queued`
            : `an identical ${type} sync is already ${job.status}: returning it`,
        },
      });
    },
  );

  app.post(
    '/instances/:id/sync/profile',
    {
      schema: {
        tags,
        summary: 'Sync the profile now and return it',
        params: IdParams,
        response: {
          200: Data(Type.Object({ type: SyncType, status: Type.String(), profile: Profile })),
          ...errorResponses(400, 401, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request) => {
      const instance = await instances.get(request.params.id);
      if (!InstanceService.isConnected(instance)) {
        throw ApiError.conflict('the instance is not connected: POST /instances/:id/connect first');
      }
      const row = await app.deps.profiles.syncProfile(instance.id);
      return {
        data: {
          type: 'profile' as const,
          status: 'completed',
          profile: {
            name: row.profile_name,
            avatarUrl: row.profile_pic_url,
            bio: row.profile_bio,
            platformMetadata: row.profile_metadata,
            syncedAt: row.profile_synced_at ? row.profile_synced_at.toISOString() : null,
          },
        },
      };
    },
  );

  app.get(
    '/instances/:id/sync',
    {
      schema: {
        tags,
        summary: 'Jobs of the instance, newest first',
        params: IdParams,
        querystring: SyncListQuery,
        response: { 200: List(SyncJobSummary), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      await instances.get(request.params.id);
      const { status, limit, cursor } = request.query;
      if (cursor && !decodeCursor(cursor, ['timestamp', 'uuid'])) throw malformedCursor();
      const statuses = (status ?? '').split(',').filter((s) => s !== '') as SyncJob['status'][];
      const page = await app.deps.jobs.listJobs(request.params.id, {
        ...(statuses.length > 0 ? { status: statuses } : {}),
        limit: limit ?? 50,
        cursor: cursor ?? null,
      });
      return { items: page.items.map(toJobSummary), meta: { hasMore: page.hasMore, cursor: page.cursor } };
    },
  );

  app.post(
    '/instances/:id/resync',
    {
      schema: {
        tags,
        summary:
          'Fetch again the messages of a window (since: 2h, 30m or ISO; until; chatJids): a messages job',
        params: IdParams,
        body: ResyncBody,
        response: { 202: Data(ResyncCreated), ...errorResponses(400, 401, 404, 409, 422, 503) },
      },
    },
    async (request, reply) => {
      const instance = await startable(request.params.id);
      if (!app.deps.plugins.get(instance.channel).capabilities.parts.includes('messages')) {
        throw ApiError.unprocessable(`the ${instance.channel} channel cannot sync messages`);
      }
      const now = Date.now();
      const since = parseSince(request.body?.since, now);
      const until = request.body?.until ? Date.parse(request.body.until) : now;
      if (since >= until) {
        throw ApiError.validation('since must be before until', [{ in: 'body', path: '/since' }]);
      }
      request.body?.chatJids?.forEach((id, i) => {
        instances.checkChatId(instance, id, { in: 'body', path: `/chatJids/${i}` });
      });
      const chatIds = request.body?.chatJids?.length ? [...new Set(request.body.chatJids)] : null;
      const config: SyncJobConfig = {
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        downloadMedia: instance.download_media_on_sync,
        ...(chatIds ? { chatIds } : {}),
      };
      const { job, created } = await app.deps.jobs.createJob(instance.id, 'messages', config, {
        maxPending: await app.deps.settings.get('sync.maxPendingJobsPerInstance'),
      });
      if (created) await app.deps.queue.dispatch({ jobId: job.id, instanceId: instance.id });
      return reply.status(202).send({
        data: {
          jobId: job.id,
          instanceId: instance.id,
          since: config.since as string,
          until: config.until as string,
          chatIds,
          status: job.status,
          message: `messages from ${config.since} to ${config.until} will be fetched again`,
        },
      });
    },
  );

  app.get(
    '/instances/:id/sync/:jobId',
    {
      schema: {
        tags,
        summary: 'A job with its counted progress',
        description:
          'Polling-friendly: while the job runs, its progress is what the runner last published (every 500 ms, ' +
          'as on the event stream), and the row is read again at least every 2 s (5 s once the job is finished); ' +
          'any other event of the job is seen at once. For every change as it happens, follow ' +
          '`GET /instances/:id/sync/:jobId/events`.',
        params: JobParams,
        response: { 200: Data(SyncJobDetail), ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const job = await app.jobSnapshots.get(request.params.id, request.params.jobId);
      // A snapshot is answered many times: serialise it once.
      let body = serialized.get(job);
      if (body === undefined) {
        body = jobDocumentJson(toJobDetail(job), (document) => reply.serialize(document) as string);
        serialized.set(job, body);
      }
      // A JSON string with a JSON content type is sent as is (the type provider only knows objects).
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  app.post(
    '/instances/:id/sync/:jobId/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel: a pending job at once, a running one between batches',
        params: JobParams,
        response: { 200: Data(SyncJobDetail), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const before = await jobOf(request.params.id, request.params.jobId);
      const job = await app.deps.jobs.requestCancel(before.id);
      app.jobSnapshots.invalidate(job.id);
      if (before.status === 'pending' && job.status === 'cancelled') {
        await app.deps.events
          .publish(jobEvent(job, 'sync.cancelled'))
          .catch((err) => request.log.warn({ err }, 'cannot publish sync.cancelled'));
      }
      return { data: toJobDetail(job) };
    },
  );

  app.post(
    '/instances/:id/sync/:jobId/resume',
    {
      schema: {
        tags,
        summary: 'Continue a failed or cancelled job from its checkpoint',
        params: JobParams,
        response: { 202: Data(SyncJobDetail), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      await jobOf(request.params.id, request.params.jobId);
      const job = await app.deps.jobs.resumeJob(request.params.jobId);
      app.jobSnapshots.invalidate(job.id);
      await app.deps.queue.dispatch({ jobId: job.id, instanceId: job.instance_id });
      return reply.status(202).send({ data: toJobDetail(job) });
    },
  );

  app.get(
    '/instances/:id/sync/:jobId/events',
    {
      config: { apiKeyInQuery: true },
      schema: {
        tags,
        summary: 'Server-Sent Events of the job: current state first, ends on a terminal event',
        params: JobParams,
        querystring: ApiKeyQuery,
        produces: ['text/event-stream'],
        response: {
          200: Type.String({ description: 'text/event-stream' }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request, reply) => {
      await jobOf(request.params.id, request.params.jobId);
      await streamJobEvents(app.deps, app.jobEvents, request, reply, request.params.id, request.params.jobId);
    },
  );
};
