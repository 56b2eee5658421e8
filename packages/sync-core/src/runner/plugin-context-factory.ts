import type { CredentialCipher, Database, Instance } from '@omni/db';
import type { Kysely } from 'kysely';
import type { ChannelId, InstanceRef, Logger, PluginContext } from '../contract/channel-plugin.ts';
import { type InstanceId, instanceId, type JsonValue } from '../contract/ids.ts';
import { InstanceNotFoundError } from '../errors/instance-not-found-error.ts';
import { RateLimitedError } from '../errors/rate-limited-error.ts';
import { MediaFetcher } from '../media/media-fetcher.ts';
import { noopSyncMetrics, type SyncMetrics } from '../metrics/sync-metrics.ts';
import { rateIdentity } from '../rate-limit/rate-identity.ts';
import type { RateLimiter, RateLimitWait } from '../rate-limit/rate-limiter.ts';

/** A logger that drops everything. */
export const noopLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Options of {@link PluginContextFactory}. */
export interface PluginContextFactoryOptions {
  /** Paces every platform request of the plugin. */
  limiter: RateLimiter;
  /** Decrypts `instances.credentials`; without it plugins get `credentials: null`. */
  cipher?: Pick<CredentialCipher, 'decryptJson'> | null;
  /**
   * Logger handed to plugins.
   * @defaultValue noopLogger
   */
  logger?: Logger;
  /**
   * Fetches media for `PluginContext.fetchMedia`.
   * @defaultValue a `MediaFetcher` with its defaults (`MEDIA_ALLOW_ORIGINS`, no settings)
   */
  mediaFetcher?: MediaFetcher;
  /**
   * Told of every platform request's outcome and every wait.
   * @defaultValue noopSyncMetrics
   */
  metrics?: SyncMetrics;
}

/** Per-context hooks. */
export interface ContextHooks {
  signal?: AbortSignal;
  onWait?: (wait: RateLimitWait) => void;
}

/**
 * Builds the {@link PluginContext} a plugin receives for an instance: its row with decrypted
 * credentials, the rate-limited `request` (paced per platform identity, see `rateIdentity`), the
 * shared budget, the media fetcher, an abort signal and a logger.
 *
 * @example
 * ```ts
 * const contexts = new PluginContextFactory({ limiter, cipher });
 * const ctx = await contexts.forInstance(db, instanceId);
 * const profile = await plugin.getProfile(ctx);
 * ```
 */
export class PluginContextFactory {
  readonly #options: Required<PluginContextFactoryOptions>;

  constructor(options: PluginContextFactoryOptions) {
    this.#options = {
      cipher: null,
      logger: noopLogger,
      metrics: noopSyncMetrics,
      ...options,
      mediaFetcher: options.mediaFetcher ?? new MediaFetcher(),
    };
  }

  /** The instance as plugins see it, credentials decrypted. */
  instanceRef(row: Instance): InstanceRef {
    let credentials: Record<string, JsonValue> | null = null;
    if (row.credentials && this.#options.cipher) {
      credentials = this.#options.cipher.decryptJson<Record<string, JsonValue>>(row.credentials, row.id);
    }
    return {
      id: instanceId(row.id) as InstanceId,
      name: row.name,
      channel: row.channel as ChannelId,
      credentials,
      ownerIdentifier: row.owner_identifier,
    };
  }

  /** A context for an instance row. */
  create(row: Instance, hooks: ContextHooks = {}): PluginContext {
    const instance = this.instanceRef(row);
    const signal = hooks.signal ?? new AbortController().signal;
    const fetcher = this.#options.mediaFetcher;
    const { metrics } = this.#options;
    const channel = instance.channel;
    const paced = this.#options.limiter.bind(
      { instanceId: row.id, channel, identity: rateIdentity(instance) },
      {
        signal,
        onWait: (wait) => {
          metrics.rateLimitWait({ channel, kind: wait.kind, reason: wait.reason, seconds: wait.ms / 1000 });
          hooks.onWait?.(wait);
        },
      },
    );
    return {
      instance,
      signal,
      // Each attempt the limiter lets through is one platform request, timed and counted by outcome.
      request: (kind, fn) =>
        paced(kind, async () => {
          const started = performance.now();
          const seconds = () => (performance.now() - started) / 1000;
          try {
            const result = await fn();
            metrics.platformRequest({ channel, kind, outcome: 'ok', seconds: seconds() });
            return result;
          } catch (error) {
            const outcome = error instanceof RateLimitedError ? 'rate_limited' : 'error';
            metrics.platformRequest({ channel, kind, outcome, seconds: seconds() });
            throw error;
          }
        }),
      fetchMedia: (url, init) =>
        fetcher.fetch(url, {
          ...init,
          signal: init.signal ? AbortSignal.any([init.signal, signal]) : signal,
        }),
      log: this.#options.logger,
      budget: this.#options.limiter.budget,
    };
  }

  /** Loads the instance and builds its context; `InstanceNotFoundError` when there is none. */
  async forInstance(db: Kysely<Database>, id: string, hooks: ContextHooks = {}): Promise<PluginContext> {
    const row = await db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new InstanceNotFoundError(id);
    return this.create(row, hooks);
  }
}
