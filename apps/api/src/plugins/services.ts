import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../app-deps.ts';

/** Makes the app's services available to every route as `app.deps`. */
export const servicesPlugin = fp<{ deps: AppDeps }>(
  async (app: FastifyInstance, options) => {
    app.decorate('deps', options.deps);
  },
  { name: 'services' },
);
