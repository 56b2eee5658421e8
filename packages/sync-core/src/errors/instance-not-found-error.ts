import { SyncError, type SyncErrorOptions } from './sync-error.ts';

/** No instance has this id (the API answers 404). */
export class InstanceNotFoundError extends SyncError {
  override readonly name = 'InstanceNotFoundError';
  readonly code = 'INSTANCE_NOT_FOUND' as const;
  readonly instanceId: string;

  constructor(instanceId: string, options: SyncErrorOptions = {}) {
    super(`instance ${instanceId} not found`, { ...options, details: { instanceId, ...options.details } });
    this.instanceId = instanceId;
  }
}
