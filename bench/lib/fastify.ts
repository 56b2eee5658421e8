/**
 * The little of Fastify the benchmarks use for their bare comparison routes, loaded from
 * apps/api's dependencies (bench/ is not a workspace, so it has no node_modules of its own): the
 * same Fastify version the API runs on.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A bare Fastify app: plugins, routes, listen, close. */
export interface BareFastify {
  register(plugin: unknown, options?: Record<string, unknown>): Promise<unknown>;
  get(path: string, handler: () => Promise<unknown>): void;
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
  server: { address(): AddressInfo | string | null };
}

type FastifyFactory = (options: { logger: boolean }) => BareFastify;

const require = createRequire(join(import.meta.dir, '../../apps/api/package.json'));
const fastify = require('fastify') as FastifyFactory;

/** `@fastify/static`, as the API registers it. */
export const fastifyStatic: unknown = require('@fastify/static');

/** A Fastify app with no plugins, listening on a free 127.0.0.1 port; returns it and its origin. */
export async function startBareFastify(
  routes: (app: BareFastify) => void | Promise<void>,
): Promise<{ app: BareFastify; origin: string }> {
  const app = fastify({ logger: false });
  await routes(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('bare app has no TCP port');
  return { app, origin: `http://127.0.0.1:${address.port}` };
}
