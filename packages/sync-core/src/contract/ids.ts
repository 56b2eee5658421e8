declare const brand: unique symbol;

/** A string tagged with the kind of id it is, so ids of different kinds cannot be mixed up. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Our id of an instance (uuid, `instances.id`). */
export type InstanceId = Brand<string, 'InstanceId'>;
/** Our id of a sync job (uuid, `sync_jobs.id`). */
export type JobId = Brand<string, 'JobId'>;
/** The platform's id of a conversation (Discord channel snowflake, WhatsApp JID). */
export type ChatId = Brand<string, 'ChatId'>;
/** The platform's id of a message, unique within its chat. */
export type ExternalMessageId = Brand<string, 'ExternalMessageId'>;
/** The platform's id of a user or contact. */
export type ExternalUserId = Brand<string, 'ExternalUserId'>;

/** Tags a string as an {@link InstanceId}. */
export const instanceId = (id: string): InstanceId => id as InstanceId;
/** Tags a string as a {@link JobId}. */
export const jobId = (id: string): JobId => id as JobId;
/** Tags a string as a {@link ChatId}. */
export const chatId = (id: string): ChatId => id as ChatId;
/** Tags a string as an {@link ExternalMessageId}. */
export const externalMessageId = (id: string): ExternalMessageId => id as ExternalMessageId;
/** Tags a string as an {@link ExternalUserId}. */
export const externalUserId = (id: string): ExternalUserId => id as ExternalUserId;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a uuid in its text form (our instance and job ids): what may be compared with a `uuid`
 * column without Postgres rejecting the query.
 */
export const isUuid = (id: string): boolean => UUID.test(id);

/** Any JSON-safe value: what cursors and raw payloads must be. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
