import type { Kysely } from 'kysely';
import { DbError } from '../db-error.ts';
import type { Database } from '../schema.ts';
import {
  isSettingKey,
  SETTING_DEFINITIONS,
  SETTING_KEYS,
  type SettingKey,
  type SettingValues,
} from './definitions.ts';

/** Where a setting's effective value comes from. */
export type SettingSource = 'default' | 'database' | 'env';

/** One setting as the API shows it. */
export interface SettingView<K extends SettingKey = SettingKey> {
  key: K;
  value: SettingValues[K];
  source: SettingSource;
  defaultValue: SettingValues[K];
  description: string;
  env: string;
}

/** Options of {@link SettingsService}. */
export interface SettingsServiceOptions {
  /**
   * How long values read from the database are reused before reading again, so changes made by
   * another process are seen without a restart.
   * @defaultValue 1000
   */
  cacheTtlMs?: number;
  /**
   * Environment consulted for overrides.
   * @defaultValue `process.env`
   */
  env?: Record<string, string | undefined>;
}

/** Defaults of {@link SettingsServiceOptions}. */
export const DEFAULT_SETTINGS_SERVICE_OPTIONS = {
  cacheTtlMs: 1000,
  env: process.env,
} satisfies Required<SettingsServiceOptions>;

/**
 * Typed settings over the `settings` table. Values are validated on write; environment
 * variables override stored values; readers see changes within `cacheTtlMs`.
 *
 * @example
 * ```ts
 * const settings = new SettingsService(db);
 * const perMinute = await settings.get('sync.discord.messagesPerMinute'); // 50
 * await settings.update({ 'sync.defaultDepth': '30d' });
 * ```
 */
export class SettingsService {
  readonly #db: Kysely<Database>;
  readonly #options: Required<SettingsServiceOptions>;
  #cache: { at: number; stored: Map<string, unknown> } | null = null;

  constructor(db: Kysely<Database>, options: SettingsServiceOptions = {}) {
    this.#db = db;
    this.#options = { ...DEFAULT_SETTINGS_SERVICE_OPTIONS, ...options };
    this.#checkEnv();
  }

  /** The effective value of one setting. */
  async get<K extends SettingKey>(key: K): Promise<SettingValues[K]> {
    return (await this.#view(key, await this.#stored())).value;
  }

  /** Every setting with its value, source and documentation. */
  async list(): Promise<SettingView[]> {
    const stored = await this.#stored();
    return Promise.all(SETTING_KEYS.map((key) => this.#view(key, stored)));
  }

  /** Effective values of all settings as one object. */
  async values(): Promise<SettingValues> {
    const views = await this.list();
    return Object.fromEntries(views.map((v) => [v.key, v.value])) as unknown as SettingValues;
  }

  /**
   * Validates and stores several settings at once: all or none. Unknown keys, invalid values and
   * deploy-time settings (`media.storagePath`) throw `DbError` (`UNKNOWN_SETTING` /
   * `INVALID_SETTING`) with every problem in `details.errors`.
   */
  async update(patch: Record<string, unknown>): Promise<SettingView[]> {
    const errors: { key: string; message: string }[] = [];
    const valid: [SettingKey, unknown][] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (!isSettingKey(key)) {
        errors.push({ key, message: 'is not a known setting' });
        continue;
      }
      if (SETTING_DEFINITIONS[key].deployOnly) {
        errors.push({
          key,
          message: `${key} is set at deploy time (environment variable ${SETTING_DEFINITIONS[key].env}), not changed at run time`,
        });
        continue;
      }
      const result = SETTING_DEFINITIONS[key].validate(value);
      if (result.ok) valid.push([key, result.value]);
      else errors.push({ key, message: `${key} ${result.message}` });
    }
    if (errors.length > 0) {
      const unknownOnly = errors.every((e) => e.message === 'is not a known setting');
      throw new DbError(
        unknownOnly ? 'UNKNOWN_SETTING' : 'INVALID_SETTING',
        errors
          .map((e) =>
            e.message === 'is not a known setting' ? `${e.key} is not a known setting` : e.message,
          )
          .join('; '),
        { details: { errors } },
      );
    }
    if (valid.length > 0) {
      const now = new Date();
      await this.#db
        .insertInto('settings')
        .values(valid.map(([key, value]) => ({ key, value: JSON.stringify(value), updated_at: now })))
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            value: eb.ref('excluded.value'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
    this.#cache = null;
    return this.list();
  }

  /** Forgets cached values; the next read goes to the database. */
  invalidate(): void {
    this.#cache = null;
  }

  async #stored(): Promise<Map<string, unknown>> {
    const now = Date.now();
    if (this.#cache && now - this.#cache.at < this.#options.cacheTtlMs) return this.#cache.stored;
    const rows = await this.#db.selectFrom('settings').select(['key', 'value']).execute();
    const stored = new Map<string, unknown>(rows.map((r) => [r.key, r.value]));
    this.#cache = { at: now, stored };
    return stored;
  }

  async #view<K extends SettingKey>(key: K, stored: Map<string, unknown>): Promise<SettingView<K>> {
    const definition = SETTING_DEFINITIONS[key];
    const base = {
      key,
      defaultValue: definition.defaultValue(),
      description: definition.description,
      env: definition.env,
    };
    const envText = this.#options.env[definition.env];
    if (envText !== undefined && envText !== '') {
      const result = definition.validate(definition.parseEnv(envText));
      if (result.ok) return { ...base, value: result.value, source: 'env' };
    }
    if (stored.has(key) && !definition.deployOnly) {
      const result = definition.validate(stored.get(key));
      if (result.ok) return { ...base, value: result.value, source: 'database' };
    }
    return { ...base, value: base.defaultValue, source: 'default' };
  }

  #checkEnv(): void {
    for (const key of SETTING_KEYS) {
      const definition = SETTING_DEFINITIONS[key];
      const text = this.#options.env[definition.env];
      if (text === undefined || text === '') continue;
      const result = definition.validate(definition.parseEnv(text));
      if (!result.ok) {
        throw new DbError(
          'INVALID_SETTING',
          `environment variable ${definition.env}: ${key} ${result.message}`,
          {
            details: { errors: [{ key, message: result.message }] },
          },
        );
      }
    }
  }
}
