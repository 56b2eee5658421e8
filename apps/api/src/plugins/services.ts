import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../app-deps.ts';
import { JobEventHub, type JobEventHubOptions } from '../services/job-event-hub.ts';
import { JobSnapshots } from '../services/job-snapshots.ts';
import { MessagePageCache, type MessagePageCacheOptions } from '../services/message-page-cache.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The job reads of the job route, shared so every route that changes a job can drop them. */
    jobSnapshots: JobSnapshots;
    /** The job event streams of this process: caps, and one subscription and poll per job. */
    jobEvents: JobEventHub;
    /** Message pages as answered, kept until a change of what they show commits. */
    messagePages: MessagePageCache;
  }
}

/** Options of {@link servicesPlugin}. */
export interface ServicesPluginOptions {
  deps: AppDeps;
  /** Caps and timings of the job event streams. */
  eventStreams?: JobEventHubOptions;
  /** Size and age bounds of the message-page cache. */
  messagePages?: MessagePageCacheOptions;
}

/** Makes the app's services available to every route as `app.deps` (and `app.jobSnapshots`, `app.jobEvents`, `app.messagePages`). */
export const servicesPlugin = fp<ServicesPluginOptions>(
  async (app: FastifyInstance, options) => {
    app.decorate('deps', options.deps);
    const snapshots = new JobSnapshots(options.deps);
    await snapshots.start();
    app.decorate('jobSnapshots', snapshots);
    app.addHook('onClose', async () => snapshots.close());
    const hub = new JobEventHub(options.deps, options.eventStreams);
    app.decorate('jobEvents', hub);
    app.addHook('onClose', async () => hub.close());
    const pages = new MessagePageCache(options.deps.db.listen, options.messagePages);
    app.decorate('messagePages', pages);
    app.addHook('onClose', async () => pages.close());
  },
  { name: 'services' },
);
