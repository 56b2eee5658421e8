import { join } from 'node:path';
import { Cron } from 'croner';

/** Sync depth as the API and settings spell it. */
export type SyncDepth = '7d' | '30d' | '90d' | '1y' | 'all';
/** Every depth, in increasing order. */
export const SYNC_DEPTHS: readonly SyncDepth[] = ['7d', '30d', '90d', '1y', 'all'];

/**
 * How Slack rates a Slack app's history calls: `internal` (built by the workspace for itself) and
 * `marketplace` (approved for the Slack Marketplace) get Tier 3 for `conversations.history` and
 * `conversations.replies`; `unlisted` (commercially distributed outside the Marketplace) gets 1
 * request per minute and at most 15 messages per page (Slack's 2025 rule).
 */
export type SlackAppTier = 'internal' | 'marketplace' | 'unlisted';
/** Every Slack app tier. */
export const SLACK_APP_TIERS: readonly SlackAppTier[] = ['internal', 'marketplace', 'unlisted'];

/** Every setting with its type. */
export interface SettingValues {
  'sync.whatsapp.messagesPerMinute': number;
  'sync.whatsapp.contactsPerMinute': number;
  'sync.discord.messagesPerMinute': number;
  'sync.discord.contactsPerMinute': number;
  'sync.slack.messagesPerMinute': number;
  'sync.slack.contactsPerMinute': number;
  'sync.slack.appTier': SlackAppTier;
  'sync.defaultDepth': SyncDepth;
  'sync.chatConcurrency': number;
  'sync.profile.scheduleEnabled': boolean;
  'sync.profile.scheduleCron': string;
  'sync.contacts.scheduleEnabled': boolean;
  'sync.catchup.enabled': boolean;
  'sync.contacts.scheduleCron': string;
  'media.storagePath': string;
  'media.maxFileSizeMb': number;
  'media.allowedMimeTypes': string[];
  'sync.maxPendingJobsPerInstance': number;
  'media.downloadTimeoutSeconds': number;
}

/** A setting's name. */
export type SettingKey = keyof SettingValues;

/** How one setting is described, defaulted and checked. */
export interface SettingDefinition<K extends SettingKey = SettingKey> {
  key: K;
  description: string;
  /** Environment variable that overrides the stored value. */
  env: string;
  defaultValue: () => SettingValues[K];
  /** Returns the value when valid, else a message saying what is wrong. */
  validate: (value: unknown) => { ok: true; value: SettingValues[K] } | { ok: false; message: string };
  /** Turns an environment string into a candidate value. */
  parseEnv: (text: string) => unknown;
  /**
   * Set at deploy time only (its environment variable, else the default): a write through
   * {@link SettingsService.update} is refused and a stored value is ignored.
   * @defaultValue false
   */
  deployOnly?: boolean;
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const bad = (message: string) => ({ ok: false as const, message });

const rate = (max: number) => (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= max
    ? ok(value)
    : bad(`must be a number of requests per minute, greater than 0 and at most ${max}`);

const bool = (value: unknown) => (typeof value === 'boolean' ? ok(value) : bad('must be true or false'));

/**
 * A schedule: five fields (minute hour day-of-month month day-of-week) or a nickname (`@daily`).
 * croner also reads a leading seconds field and a trailing year, which would let a schedule start
 * a refresh of every instance each second; and a pattern no date matches (`0 0 31 2 *`) never fires.
 */
const cron = (value: unknown) => {
  if (typeof value !== 'string' || value.trim() === '') return bad('must be a cron expression');
  let next: Date | null;
  try {
    const pattern = new Cron(value, { paused: true, timezone: 'UTC' });
    next = pattern.nextRun();
    pattern.stop();
  } catch (error) {
    return bad(`is not a valid cron expression: ${(error as Error).message}`);
  }
  const trimmed = value.trim();
  if (!trimmed.startsWith('@') && trimmed.split(/\s+/).length !== 5) {
    return bad('must have five fields (minute hour day-of-month month day-of-week), no seconds or year');
  }
  return next === null ? bad('never fires: no date matches it') : ok(value);
};

const parseNumber = (text: string): unknown => (text.trim() === '' ? text : Number(text));
const parseBool = (text: string): unknown => (text === 'true' ? true : text === 'false' ? false : text);
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
const parseString = (text: string): unknown => text;

const MIME_PATTERN = /^(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/i;

function define<K extends SettingKey>(definition: SettingDefinition<K>): SettingDefinition<K> {
  return definition;
}

/** The seed's settings, with defaults and validation. Environment variables override stored values. */
export const SETTING_DEFINITIONS: { [K in SettingKey]: SettingDefinition<K> } = {
  'sync.whatsapp.messagesPerMinute': define({
    key: 'sync.whatsapp.messagesPerMinute',
    description:
      'WhatsApp history requests per minute per WhatsApp account, shared by every process (conservative to avoid bans).',
    env: 'SYNC_WHATSAPP_MESSAGES_PER_MINUTE',
    defaultValue: () => 30,
    validate: rate(600),
    parseEnv: parseNumber,
  }),
  'sync.whatsapp.contactsPerMinute': define({
    key: 'sync.whatsapp.contactsPerMinute',
    description: 'WhatsApp contact/group requests per minute per WhatsApp account, shared by every process.',
    env: 'SYNC_WHATSAPP_CONTACTS_PER_MINUTE',
    defaultValue: () => 60,
    validate: rate(600),
    parseEnv: parseNumber,
  }),
  'sync.discord.messagesPerMinute': define({
    key: 'sync.discord.messagesPerMinute',
    description:
      "Discord message-history requests per minute per bot token (every instance and process on the token shares it; each returns up to 100 messages). Discord's own windows (5 per 5 s per channel, 50 per s) are kept on top.",
    env: 'SYNC_DISCORD_MESSAGES_PER_MINUTE',
    defaultValue: () => 50,
    validate: rate(60_000),
    parseEnv: parseNumber,
  }),
  'sync.discord.contactsPerMinute': define({
    key: 'sync.discord.contactsPerMinute',
    description:
      'Discord member/guild/profile requests per minute per bot token, shared by every instance and process on it.',
    env: 'SYNC_DISCORD_CONTACTS_PER_MINUTE',
    defaultValue: () => 100,
    validate: rate(60_000),
    parseEnv: parseNumber,
  }),
  'sync.slack.messagesPerMinute': define({
    key: 'sync.slack.messagesPerMinute',
    description:
      'Slack history requests per minute per Slack token (workspace), shared by every process, conversations.history and conversations.replies together (the plugin also holds each method to its own tier per workspace: Tier 3, 50/min, or 1/min for unlisted apps).',
    env: 'SYNC_SLACK_MESSAGES_PER_MINUTE',
    defaultValue: () => 100,
    validate: rate(60_000),
    parseEnv: parseNumber,
  }),
  'sync.slack.contactsPerMinute': define({
    key: 'sync.slack.contactsPerMinute',
    description:
      'Slack directory and profile requests per minute per Slack token (workspace), shared by every process (users.list and conversations.list are Tier 2, 20/min per workspace; the plugin paces each method to its tier).',
    env: 'SYNC_SLACK_CONTACTS_PER_MINUTE',
    defaultValue: () => 100,
    validate: rate(60_000),
    parseEnv: parseNumber,
  }),
  'sync.slack.appTier': define({
    key: 'sync.slack.appTier',
    description:
      "How Slack rates this deployment's Slack app: internal or marketplace (history at Tier 3, 50 requests/min, 200 messages a page) or unlisted (commercially distributed outside the Marketplace: 1 request/min, 15 messages a page).",
    env: 'SYNC_SLACK_APP_TIER',
    defaultValue: () => 'internal',
    validate: (value) =>
      SLACK_APP_TIERS.includes(value as SlackAppTier)
        ? ok(value as SlackAppTier)
        : bad(`must be one of ${SLACK_APP_TIERS.join(', ')}`),
    parseEnv: parseString,
  }),
  'sync.defaultDepth': define({
    key: 'sync.defaultDepth',
    description: 'Depth used when a sync request names none: 7d, 30d, 90d, 1y or all.',
    env: 'SYNC_DEFAULT_DEPTH',
    defaultValue: () => '7d',
    validate: (value) =>
      SYNC_DEPTHS.includes(value as SyncDepth)
        ? ok(value as SyncDepth)
        : bad(`must be one of ${SYNC_DEPTHS.join(', ')}`),
    parseEnv: parseString,
  }),
  'sync.chatConcurrency': define({
    key: 'sync.chatConcurrency',
    description:
      "Chats of one instance a messages job syncs at the same time, all within the instance's rate budget (1–64).",
    env: 'SYNC_CHAT_CONCURRENCY',
    defaultValue: () => 4,
    validate: (value) =>
      typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 64
        ? ok(value)
        : bad('must be a whole number of chats from 1 to 64'),
    parseEnv: parseNumber,
  }),
  'sync.profile.scheduleEnabled': define({
    key: 'sync.profile.scheduleEnabled',
    description: 'Refresh every instance profile on the profile schedule.',
    env: 'SYNC_PROFILE_SCHEDULE_ENABLED',
    defaultValue: () => true,
    validate: bool,
    parseEnv: parseBool,
  }),
  'sync.profile.scheduleCron': define({
    key: 'sync.profile.scheduleCron',
    description: 'When profiles refresh (cron, five fields, UTC).',
    env: 'SYNC_PROFILE_SCHEDULE_CRON',
    defaultValue: () => '0 4 * * *',
    validate: cron,
    parseEnv: parseString,
  }),
  'sync.catchup.enabled': define({
    key: 'sync.catchup.enabled',
    description:
      "When the fleet starts (the scheduler's leader starts) and when an instance with synced messages is connected again, queue a catchup job: it fills, per chat, the gap since the newest covered point.",
    env: 'SYNC_CATCHUP_ENABLED',
    defaultValue: () => true,
    validate: bool,
    parseEnv: parseBool,
  }),
  'sync.contacts.scheduleEnabled': define({
    key: 'sync.contacts.scheduleEnabled',
    description: 'Refresh contacts and groups on the contacts schedule.',
    env: 'SYNC_CONTACTS_SCHEDULE_ENABLED',
    defaultValue: () => true,
    validate: bool,
    parseEnv: parseBool,
  }),
  'sync.contacts.scheduleCron': define({
    key: 'sync.contacts.scheduleCron',
    description: 'When contacts and groups refresh (cron, five fields, UTC).',
    env: 'SYNC_CONTACTS_SCHEDULE_CRON',
    defaultValue: () => '0 3 * * *',
    validate: cron,
    parseEnv: parseString,
  }),
  'media.storagePath': define({
    key: 'media.storagePath',
    description:
      'Folder media files are stored under ({path}/{instanceId}/{YYYY-MM}/{messageId}.{ext}). Set at deploy time with MEDIA_STORAGE_PATH; not writable over the API.',
    env: 'MEDIA_STORAGE_PATH',
    deployOnly: true,
    defaultValue: () => join(process.env.DATA_DIR ?? './data', 'media'),
    validate: (value) =>
      typeof value === 'string' && value.trim() !== '' && !value.includes('\0')
        ? ok(value)
        : bad('must be a non-empty path'),
    parseEnv: parseString,
  }),
  'media.maxFileSizeMb': define({
    key: 'media.maxFileSizeMb',
    description: 'Media larger than this (MiB) is skipped and counted, not stored.',
    env: 'MEDIA_MAX_FILE_SIZE_MB',
    defaultValue: () => 100,
    validate: (value) =>
      typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 100_000
        ? ok(value)
        : bad('must be a number of MiB greater than 0'),
    parseEnv: parseNumber,
  }),
  'media.allowedMimeTypes': define({
    key: 'media.allowedMimeTypes',
    description: 'MIME types stored; wildcards like image/* allowed. Others are skipped and counted.',
    env: 'MEDIA_ALLOWED_MIME_TYPES',
    defaultValue: () => ['image/*', 'audio/*', 'video/*', 'application/pdf'],
    validate: (value) =>
      Array.isArray(value) && value.every((v) => typeof v === 'string' && MIME_PATTERN.test(v))
        ? ok(value as string[])
        : bad('must be an array of MIME types such as "image/*" or "application/pdf"'),
    parseEnv: (text) =>
      text.trim().startsWith('[') ? parseJson(text) : text.split(',').map((s) => s.trim()),
  }),
  'sync.maxPendingJobsPerInstance': define({
    key: 'sync.maxPendingJobsPerInstance',
    description:
      'Pending sync jobs an instance may queue; a further request (not identical to a queued one) answers 429.',
    env: 'SYNC_MAX_PENDING_JOBS_PER_INSTANCE',
    defaultValue: () => 20,
    validate: (value) =>
      typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 10_000
        ? ok(value)
        : bad('must be a whole number of jobs from 1 to 10000'),
    parseEnv: parseNumber,
  }),
  'media.downloadTimeoutSeconds': define({
    key: 'media.downloadTimeoutSeconds',
    description:
      'Longest time one media download may take, redirects and body included (s); slower files are skipped and counted as timeout.',
    env: 'MEDIA_DOWNLOAD_TIMEOUT_SECONDS',
    defaultValue: () => 120,
    validate: (value) =>
      typeof value === 'number' && Number.isFinite(value) && value >= 1 && value <= 3600
        ? ok(value)
        : bad('must be a number of seconds from 1 to 3600'),
    parseEnv: parseNumber,
  }),
};

/** Every setting key, in a stable order. */
export const SETTING_KEYS = Object.keys(SETTING_DEFINITIONS) as SettingKey[];

/** True when `key` names a setting. */
export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTING_DEFINITIONS, key);
}
