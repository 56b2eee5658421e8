import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** No plugin is registered for the instance's channel. */
export class PluginNotFoundError extends SyncError {
  override readonly name = 'PluginNotFoundError';
  readonly code = 'PLUGIN_NOT_FOUND' as const;
  readonly channel: string;

  constructor(channel: string, options: SyncErrorOptions = {}) {
    super(`no channel plugin registered for "${channel}"`, {
      ...options,
      details: { channel, ...options.details },
    });
    this.channel = channel;
  }
}
