import type { CredentialCipher, Instance } from '@omni/db';
import {
  type InstanceRef,
  instanceId,
  type JsonValue,
  type Logger,
  type PluginContext,
} from '@omni/sync-core';

/** The plugin's view of an instance row, with credentials decrypted. */
export function toInstanceRef(instance: Instance, cipher: CredentialCipher): InstanceRef {
  return {
    id: instanceId(instance.id),
    name: instance.name,
    channel: instance.channel,
    credentials: instance.credentials
      ? cipher.decryptJson<Record<string, JsonValue>>(instance.credentials)
      : null,
    ownerIdentifier: instance.owner_identifier,
  };
}

/**
 * A context for a single, user-initiated plugin call outside a job (connect, profile now): one
 * request, so no token bucket; a rate-limit answer surfaces to the caller as `RateLimitedError`.
 */
export function directContext(instance: InstanceRef, log: Logger, signal?: AbortSignal): PluginContext {
  return {
    instance,
    signal: signal ?? new AbortController().signal,
    request: (_kind, fn) => fn(),
    log,
  };
}
