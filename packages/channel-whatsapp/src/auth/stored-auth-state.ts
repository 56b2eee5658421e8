import {
  type AuthenticationCreds,
  type AuthenticationState,
  BufferJSON,
  initAuthCreds,
  proto,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import type { AuthStateStore } from './auth-state-store.ts';

const CREDS_KEY = 'creds';

/** A Baileys auth state read from an {@link AuthStateStore}, with the calls that write it back. */
export interface StoredAuthState {
  state: AuthenticationState;
  /** True when creds were found (the account was linked before). */
  existed: boolean;
  /** Writes the current creds (call on every `creds.update`). */
  saveCreds(): Promise<void>;
  /** Deletes creds and keys (after a logout). */
  clear(): Promise<void>;
}

function encode(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

function decode<T>(text: string): T {
  return JSON.parse(text, BufferJSON.reviver) as T;
}

/**
 * Loads (or starts) the auth state of an instance, like Baileys' `useMultiFileAuthState` but over
 * an {@link AuthStateStore}: creds under `creds`, each signal key under `${category}:${id}`.
 */
export async function loadStoredAuthState(
  store: AuthStateStore,
  instanceId: string,
): Promise<StoredAuthState> {
  const found = (await store.read(instanceId, [CREDS_KEY])).get(CREDS_KEY);
  const creds: AuthenticationCreds = found ? decode<AuthenticationCreds>(found) : initAuthCreds();
  const state: AuthenticationState = {
    creds,
    keys: {
      async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
        const rows = await store.read(
          instanceId,
          ids.map((id) => `${type}:${id}`),
        );
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const id of ids) {
          const text = rows.get(`${type}:${id}`);
          if (text === undefined) continue;
          let value: unknown = decode(text);
          if (type === 'app-state-sync-key' && value) {
            value = proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>);
          }
          out[id] = value as SignalDataTypeMap[T];
        }
        return out;
      },
      async set(data: SignalDataSet) {
        const entries = new Map<string, string | null>();
        for (const category of Object.keys(data) as (keyof SignalDataTypeMap)[]) {
          const values = data[category];
          if (!values) continue;
          for (const [id, value] of Object.entries(values)) {
            entries.set(`${category}:${id}`, value === null || value === undefined ? null : encode(value));
          }
        }
        if (entries.size > 0) await store.write(instanceId, entries);
      },
    },
  };
  return {
    state,
    existed: found !== undefined,
    saveCreds: () => store.write(instanceId, new Map([[CREDS_KEY, encode(state.creds)]])),
    clear: () => store.clear(instanceId),
  };
}
