/**
 * Where a WhatsApp session's auth state lives: `creds` and the signal keys, as JSON text keyed by
 * `creds` or `${category}:${id}`. A production store encrypts the values at rest (the
 * `whatsapp_auth` table with `CredentialCipher`, see `@omni/sync-core`'s `PostgresAuthStateStore`).
 */
export interface AuthStateStore {
  /** Values of the given keys; absent keys are missing from the result. */
  read(instanceId: string, keys: readonly string[]): Promise<Map<string, string>>;
  /** Writes (or, with `null`, deletes) the given keys in one go. */
  write(instanceId: string, entries: ReadonlyMap<string, string | null>): Promise<void>;
  /** Deletes everything of the instance (after a logout). */
  clear(instanceId: string): Promise<void>;
}

/** An {@link AuthStateStore} in memory, for tests and throw-away sessions. */
export class MemoryAuthStateStore implements AuthStateStore {
  readonly #data = new Map<string, Map<string, string>>();
  /** Number of `write` calls, for tests. */
  writes = 0;

  async read(instanceId: string, keys: readonly string[]): Promise<Map<string, string>> {
    const bucket = this.#data.get(instanceId);
    const out = new Map<string, string>();
    for (const key of keys) {
      const value = bucket?.get(key);
      if (value !== undefined) out.set(key, value);
    }
    return out;
  }

  async write(instanceId: string, entries: ReadonlyMap<string, string | null>): Promise<void> {
    this.writes++;
    let bucket = this.#data.get(instanceId);
    if (!bucket) {
      bucket = new Map();
      this.#data.set(instanceId, bucket);
    }
    for (const [key, value] of entries) {
      if (value === null) bucket.delete(key);
      else bucket.set(key, value);
    }
  }

  async clear(instanceId: string): Promise<void> {
    this.#data.delete(instanceId);
  }

  /** Keys stored for an instance, for tests. */
  keys(instanceId: string): string[] {
    return [...(this.#data.get(instanceId)?.keys() ?? [])];
  }
}
