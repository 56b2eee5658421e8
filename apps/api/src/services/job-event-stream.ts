import type { SyncJob } from '@omni/db';
import { type SyncEvent, statusOf, TERMINAL_EVENTS } from '@omni/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-deps.ts';
import { eventFromJob, terminalEventOf } from './job-event.ts';
import type { JobEventHub } from './job-event-hub.ts';
import { progressPercent } from './mappers.ts';

/**
 * Streams a job's events as Server-Sent Events: the current state first (as the terminal event
 * when the job is over, else as `sync.progress`), then every event as it happens, ending after the
 * terminal one (or when the job is deleted). Takes one of the hub's stream slots for the instance
 * (a 429 before anything is sent when none is free) and listens through the hub, which holds one
 * bus subscription and one poll per job.
 */
export async function streamJobEvents(
  deps: AppDeps,
  hub: JobEventHub,
  request: FastifyRequest,
  reply: FastifyReply,
  instanceId: string,
  jobId: string,
): Promise<void> {
  const release = hub.reserve(instanceId);
  const buffered: SyncEvent[] = [];
  let live: ((event: SyncEvent) => void) | null = null;
  let finish: () => void = () => {};
  let leave: (() => void) | null = null;
  let job: SyncJob;
  try {
    leave = await hub.listen(jobId, {
      event: (event) => (live ? live(event) : buffered.push(event)),
      ping: () => {
        if (live) reply.raw.write(': ping\n\n');
      },
      gone: () => finish(),
    });
    job = await deps.jobs.getJob(jobId);
  } catch (error) {
    leave?.();
    release();
    throw error;
  }

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
  const end = () => {
    if (ended) return;
    ended = true;
    leave?.();
    release();
    res.end();
  };
  finish = end;
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

  write(eventFromJob(job, terminalEventOf(job.status) ?? 'sync.progress'));
  if (ended) return;
  for (const event of buffered.splice(0)) write(event);
  live = write;
}
