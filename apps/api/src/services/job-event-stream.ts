import type { SyncJob } from '@omni/db';
import { type SyncEvent, type SyncEventType, statusOf, TERMINAL_EVENTS } from '@omni/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-deps.ts';
import { progressPercent } from './mappers.ts';

/** Options of {@link streamJobEvents}. */
export interface JobEventStreamOptions {
  /**
   * A `: ping` comment is sent this often so proxies keep the stream open.
   * @defaultValue 15_000
   */
  heartbeatMs?: number;
  /**
   * The job row is re-read this often, so the stream ends even if a terminal event was lost.
   * @defaultValue 2_000
   */
  pollMs?: number;
}

const TERMINAL_BY_STATUS: Record<string, SyncEventType> = {
  completed: 'sync.completed',
  failed: 'sync.failed',
  cancelled: 'sync.cancelled',
};

/** The event of type `type` describing the job row as it is now (what the bus carries). */
export function jobEvent(job: SyncJob, type: SyncEventType): SyncEvent {
  return {
    type,
    instanceId: job.instance_id,
    jobId: job.id,
    jobType: job.type,
    at: new Date().toISOString(),
    status: job.status,
    progress: job.progress,
    ...(job.error_message ? { error: job.error_message } : {}),
  };
}

/** {@link jobEvent} with the percentage the stream shows. */
function eventFromJob(job: SyncJob, type: SyncEventType): SyncEvent {
  return { ...jobEvent(job, type), progressPercent: progressPercent(job) };
}

/**
 * Streams a job's events as Server-Sent Events: the current state first (as the terminal event
 * when the job is over, else as `sync.progress`), then every event as it happens, ending after the
 * terminal one.
 */
export async function streamJobEvents(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  jobId: string,
  options: JobEventStreamOptions = {},
): Promise<void> {
  const buffered: SyncEvent[] = [];
  let live: ((event: SyncEvent) => void) | null = null;
  const subscription = await deps.events.subscribe({ jobId }, (event) => {
    if (live) live(event);
    else buffered.push(event);
  });
  const job = await deps.jobs.getJob(jobId);

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let sequence = 0;
  let ended = false;
  const timers: ReturnType<typeof setInterval>[] = [];
  const end = () => {
    if (ended) return;
    ended = true;
    for (const timer of timers) clearInterval(timer);
    void subscription.close().catch(() => {});
    res.end();
  };
  const write = (event: SyncEvent) => {
    if (ended) return;
    sequence += 1;
    const status = statusOf(event);
    const percent =
      event.progressPercent !== undefined
        ? event.progressPercent
        : event.progress
          ? progressPercent({
              status: status as SyncJob['status'],
              progress: event.progress as SyncJob['progress'],
            })
          : null;
    const body = { ...event, status, progressPercent: percent };
    res.write(`id: ${sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(body)}\n\n`);
    if (TERMINAL_EVENTS.has(event.type)) end();
  };
  request.raw.on('close', end);

  const terminal = TERMINAL_BY_STATUS[job.status];
  write(eventFromJob(job, terminal ?? 'sync.progress'));
  if (ended) return;
  for (const event of buffered.splice(0)) write(event);
  live = write;

  timers.push(
    setInterval(() => {
      if (!ended) res.write(': ping\n\n');
    }, options.heartbeatMs ?? 15_000),
    setInterval(() => {
      void deps.jobs
        .findJob(jobId)
        .then((row) => {
          if (!row) return end();
          const type = TERMINAL_BY_STATUS[row.status];
          if (type) write(eventFromJob(row, type));
        })
        .catch(() => {});
    }, options.pollMs ?? 2_000),
  );
}
