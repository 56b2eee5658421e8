export type { ChangeListener, ChangeSubscription, ListenChanges } from './change-feed.ts';
export { type CreateDbOptions, createDb, type DbEngine, type OmniDb } from './create-db.ts';
export {
  CredentialCipher,
  loadCredentialCipher,
  type SecretKeySource,
  upgradeCredentialEnvelopes,
} from './credential-cipher.ts';
export { DbError, type DbErrorCode } from './db-error.ts';
export { type MigrateResult, migrateToLatest } from './migrate.ts';
export type { PreparedStatement, RunPrepared } from './prepared-statement.ts';
export { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-dir.ts';
export type * from './schema.ts';
export { toJson } from './schema.ts';
export {
  isSettingKey,
  SETTING_DEFINITIONS,
  SETTING_KEYS,
  type SettingDefinition,
  type SettingKey,
  type SettingValues,
  SLACK_APP_TIERS,
  type SlackAppTier,
  SYNC_DEPTHS,
  type SyncDepth,
} from './settings/definitions.ts';
export {
  DEFAULT_SETTINGS_SERVICE_OPTIONS,
  type SettingSource,
  SettingsService,
  type SettingsServiceOptions,
  type SettingView,
} from './settings/settings-service.ts';
export { StatementError } from './statement-error.ts';
