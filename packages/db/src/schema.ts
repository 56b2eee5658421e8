import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Any JSON value as stored in a jsonb column. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A jsonb column: read as the parsed value, written as JSON text (use {@link toJson}). Text is
 * used for writes because `pg` would turn a JS array into a Postgres array, not JSON.
 */
export type JsonColumn<T> = ColumnType<T, string, string>;
/** A NOT NULL jsonb column holding an object, with a database default. */
export type JsonObject = ColumnType<Record<string, unknown>, string | undefined, string>;

/** Serialises a value for a jsonb column. */
export const toJson = (value: unknown): string => JSON.stringify(value);

/** A timestamptz column that the database fills on insert. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** A timestamptz column that the database fills on insert and callers bump on update. */
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** A nullable timestamptz column. */
type Timestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** Channel names as Omni's SDK spells them. */
export type ChannelName = 'discord' | 'whatsapp-baileys' | 'slack';

/**
 * What a sync job does. `catchup` is a messages sync of what is newer than each chat's newest
 * covered point (the gap left by a disconnection or a fleet outage).
 */
export type SyncJobType = 'profile' | 'messages' | 'contacts' | 'groups' | 'all' | 'catchup';

/** Lifecycle of a sync job. */
export type SyncJobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Lifecycle of one chat inside a sync job. */
export type SyncChatStatus = 'pending' | 'running' | 'done' | 'exhausted' | 'failed' | 'skipped';

/** `instances`: one connected (or connectable) account. */
export interface InstancesTable {
  id: Generated<string>;
  name: string;
  channel: ChannelName;
  is_active: Generated<boolean>;
  /** disconnected | connecting | qr | open | closed | logged_out | error */
  connection_state: Generated<string>;
  /** AES-256-GCM envelope (see CredentialCipher); never plaintext. */
  credentials: string | null;
  profile_name: string | null;
  profile_pic_url: string | null;
  profile_bio: string | null;
  profile_metadata: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  profile_synced_at: Timestamp;
  owner_identifier: string | null;
  download_media_on_sync: Generated<boolean>;
  /** Omni's instance fields omni-sync stores and echoes without acting on them (agent settings…). */
  omni_config: JsonObject;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `sync_jobs`: the seed's job table plus what resuming needs. */
export interface SyncJobsTable {
  id: Generated<string>;
  instance_id: string;
  type: SyncJobType;
  status: Generated<SyncJobStatus>;
  config: JsonObject;
  progress: JsonObject;
  error_message: string | null;
  started_at: Timestamp;
  completed_at: Timestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** How many times a worker has claimed the job. */
  attempts: Generated<number>;
  /** Worker id holding the lease while running. */
  lease_owner: string | null;
  lease_expires_at: Timestamp;
  /**
   * Grows by one on every claim: a run's lease is (`lease_owner`, `lease_epoch`) and its writes
   * commit only while both still match (fencing).
   */
  lease_epoch: Generated<number>;
  /** Set by the cancel API; the runner stops between batches. */
  cancel_requested: Generated<boolean>;
}

/** `sync_job_chats`: one row per chat of a job, the checkpoint of that chat. */
export interface SyncJobChatsTable {
  job_id: string;
  chat_id: string;
  chat_name: string | null;
  status: Generated<SyncChatStatus>;
  /** Opaque plugin cursor: resume exactly after the last stored batch. */
  cursor: ColumnType<unknown, string | null | undefined, string | null>;
  oldest_at: Timestamp;
  newest_at: Timestamp;
  fetched: Generated<number>;
  stored: Generated<number>;
  duplicates: Generated<number>;
  updated: Generated<number>;
  failed: Generated<number>;
  /** The platform has nothing older than `oldest_at`. */
  exhausted: Generated<boolean>;
  /**
   * The part `[segment_since, segment_until)` of the window being fetched, which `cursor` belongs
   * to (a chat's window is fetched as the gaps of its coverage); `segment_since` null = from the
   * beginning, `segment_until` null = no segment open.
   */
  segment_since: Timestamp;
  segment_until: Timestamp;
  last_error: string | null;
  updated_at: UpdatedAt;
}

/** `chats`: conversations known for an instance. */
export interface ChatsTable {
  id: Generated<string>;
  instance_id: string;
  external_id: string;
  /** Other id of the same chat (WhatsApp phone JID for a LID chat, or the reverse). */
  alt_external_id: string | null;
  name: string | null;
  /** dm | group | channel | thread | forum-post | announcement | broadcast */
  kind: string | null;
  parent_external_id: string | null;
  metadata: JsonObject;
  last_message_at: Timestamp;
  /** Messages stored for the chat (edits, revokes and reactions not counted); kept by a trigger. */
  message_count: ColumnType<string, never, never>;
  /** Messages with media stored for the chat; kept by a trigger. */
  media_count: ColumnType<string, never, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `messages`: every message stored once per (instance, chat, external id). */
export interface MessagesTable {
  id: Generated<string>;
  instance_id: string;
  chat_external_id: string;
  external_id: string;
  sender_id: string | null;
  sender_name: string | null;
  sent_at: ColumnType<Date, Date | string, Date | string>;
  kind: string;
  text: string | null;
  reply_to_external_id: string | null;
  /** For `edit`, `revoke` and `reaction` rows: the external id of the message acted upon. */
  target_external_id: string | null;
  has_media: Generated<boolean>;
  media_mime_type: string | null;
  media_url: string | null;
  media_local_path: string | null;
  media_metadata: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  media_sha256: string | null;
  source: Generated<'sync' | 'live'>;
  edited_at: Timestamp;
  deleted_at: Timestamp;
  raw: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: CreatedAt;
}

/** `contacts`: people known to an instance. */
export interface ContactsTable {
  id: Generated<string>;
  instance_id: string;
  external_id: string;
  name: string | null;
  push_name: string | null;
  verified_name: string | null;
  phone_number: string | null;
  lid: string | null;
  avatar_url: string | null;
  metadata: JsonObject;
  /** False once a refresh no longer sees the contact. */
  is_present: Generated<boolean>;
  last_seen_sync_at: Timestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `omni_groups`: the seed's group table. */
export interface OmniGroupsTable {
  id: Generated<string>;
  instance_id: string;
  external_id: string;
  name: string | null;
  description: string | null;
  member_count: number | null;
  metadata: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  is_present: Generated<boolean>;
  last_seen_sync_at: Timestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** `group_participants`: members of a group, queryable. */
export interface GroupParticipantsTable {
  instance_id: string;
  group_external_id: string;
  participant_id: string;
  /** member | admin | superadmin | owner */
  role: string;
  is_present: Generated<boolean>;
  updated_at: UpdatedAt;
}

/** `settings`: typed keys, JSON values. */
export interface SettingsTable {
  key: string;
  value: JsonColumn<Json>;
  updated_at: UpdatedAt;
}

/** `whatsapp_auth`: Baileys creds and signal keys, encrypted. */
export interface WhatsappAuthTable {
  instance_id: string;
  /** `creds` or `${category}:${id}` */
  key: string;
  /** CredentialCipher envelope. */
  value: string;
  updated_at: UpdatedAt;
}

/** `leader_leases`: which process leads (runs the scheduler and the reaper), until when. */
export interface LeaderLeasesTable {
  /** The role, e.g. `leader`. */
  name: string;
  /** Id of the leading process. */
  owner: string;
  /** Free for another process after this instant (unless renewed). */
  expires_at: ColumnType<Date, Date | string, Date | string>;
  updated_at: UpdatedAt;
}

/** `channel_sessions`: which process holds an instance's live socket (a lease), until when. */
export interface ChannelSessionsTable {
  instance_id: string;
  /** Id of the holding process. */
  owner: string;
  /** The lease is free for others after this instant. */
  expires_at: ColumnType<Date, Date | string, Date | string>;
  updated_at: UpdatedAt;
}

/** `rate_budgets`: the window slots of one bucket of one platform identity, shared by every process. */
export interface RateBudgetsTable {
  /** What the platform limits: `discord:token:<sha256>`, `whatsapp:instance:<id>`, `ip:<host>`… */
  identity: string;
  /** The limited thing inside it: `global`, `channel:<id>`, `kind:messages`, `method:<name>`… */
  bucket: string;
  /** `{ slots: [{ t, h }] }`: when each slot is free again (ms epoch) and who holds it. */
  state: JsonObject;
  updated_at: UpdatedAt;
}

/** `rate_pauses`: a cooldown of a whole identity, and the probe state of a Cloudflare ban. */
export interface RatePausesTable {
  identity: string;
  /** No request of the identity before this instant, ms epoch (database clock). */
  until_ms: number;
  reason: string;
  /** A ban that is probed: after `until_ms` one request at a time tries whether it is over. */
  probe: Generated<boolean>;
  /** Failed probes so far (the next wait doubles with each). */
  step: Generated<number>;
  /** Holder of the probe in flight, if any. */
  probe_holder: string | null;
  /** The probe in flight is given up after this instant, ms epoch. */
  probe_expires_ms: number | null;
  updated_at: UpdatedAt;
}

/**
 * `history_inbox`: pushed history written before it is processed, deleted in the transaction that
 * stores it or, for a chunk stored in one statement, lazily once it is stored and written (see
 * sync-core's `HistoryInbox`).
 */
export interface HistoryInboxTable {
  /** bigint identity; read as text. */
  id: Generated<string>;
  instance_id: string;
  /** The platform's chunk kind (INITIAL_BOOTSTRAP, RECENT, ON_DEMAND, LIVE…). */
  sync_type: string;
  /** Messages in the batch (for operators; the payload is the truth). */
  messages: number;
  /** The normalized batch (`PushedHistory`) as JSON text: rows written before migration 0014 only. */
  payload: string | null;
  /** The normalized batch (`PushedHistory`) as zstd-compressed JSON (migration 0014 on). */
  body: Uint8Array | null;
  created_at: CreatedAt;
}

/**
 * `sync_job_media_failures`: media items a job counted as failed, so a later run of the job that
 * stores or skips one takes the failure back (each item counted once per job, with its final outcome).
 */
export interface SyncJobMediaFailuresTable {
  job_id: string;
  /** `messages.id` of the item's message. */
  message_id: string;
  /** The reason counted in `mediaFailReasons`. */
  reason: string;
  failed_at: CreatedAt;
}

/** `lid_mappings`: WhatsApp LID ↔ phone-number JIDs. */
export interface LidMappingsTable {
  instance_id: string;
  lid: string;
  pn: string;
  updated_at: UpdatedAt;
}

/** Why a covered range of a chat's history stops at one of its edges. */
export type CoverageReason = 'depth' | 'exhausted' | 'not-permitted' | 'failed' | 'cancelled' | 'live';

/** `chat_coverage`: time ranges `[from_at, to_at)` of a chat whose history is stored completely. */
export interface ChatCoverageTable {
  id: Generated<string>;
  instance_id: string;
  /** The chat's external id (as `messages.chat_external_id`). */
  chat_id: string;
  from_at: ColumnType<Date, Date | string, Date | string>;
  to_at: ColumnType<Date, Date | string, Date | string>;
  /** Why nothing older than `from_at` is covered by this range. */
  from_reason: CoverageReason;
  /** Why nothing newer than `to_at` is covered by this range. */
  to_reason: CoverageReason;
  updated_at: UpdatedAt;
}

/** The whole database as Kysely sees it. */
export interface Database {
  instances: InstancesTable;
  sync_jobs: SyncJobsTable;
  sync_job_chats: SyncJobChatsTable;
  chats: ChatsTable;
  messages: MessagesTable;
  contacts: ContactsTable;
  omni_groups: OmniGroupsTable;
  group_participants: GroupParticipantsTable;
  settings: SettingsTable;
  whatsapp_auth: WhatsappAuthTable;
  lid_mappings: LidMappingsTable;
  channel_sessions: ChannelSessionsTable;
  leader_leases: LeaderLeasesTable;
  chat_coverage: ChatCoverageTable;
  rate_budgets: RateBudgetsTable;
  rate_pauses: RatePausesTable;
  history_inbox: HistoryInboxTable;
  sync_job_media_failures: SyncJobMediaFailuresTable;
}

export type Instance = Selectable<InstancesTable>;
export type NewInstance = Insertable<InstancesTable>;
export type InstanceUpdate = Updateable<InstancesTable>;
export type SyncJob = Selectable<SyncJobsTable>;
export type NewSyncJob = Insertable<SyncJobsTable>;
export type SyncJobChat = Selectable<SyncJobChatsTable>;
export type Message = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type Chat = Selectable<ChatsTable>;
export type Contact = Selectable<ContactsTable>;
export type OmniGroup = Selectable<OmniGroupsTable>;
export type GroupParticipant = Selectable<GroupParticipantsTable>;
export type ChatCoverage = Selectable<ChatCoverageTable>;
