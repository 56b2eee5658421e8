import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../app-deps.ts';
import { JobSnapshots } from '../services/job-snapshots.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The job reads of the job route, shared so every route that changes a job can drop them. */
    jobSnapshots: JobSnapshots;
  }
}

/** Makes the app's services available to every route as `app.deps` (and `app.jobSnapshots`). */
export const servicesPlugin = fp<{ deps: AppDeps }>(
  async (app: FastifyInstance, options) => {
    app.decorate('deps', options.deps);
    const snapshots = new JobSnapshots(options.deps);
    await snapshots.start();
    app.decorate('jobSnapshots', snapshots);
    app.addHook('onClose', async () => snapshots.close());
  },
  { name: 'services' },
);
