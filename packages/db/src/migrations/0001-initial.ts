import { type Kysely, sql } from 'kysely';

const statements = [
  `CREATE TABLE instances (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE,
    channel text NOT NULL CHECK (channel IN ('discord', 'whatsapp-baileys')),
    is_active boolean NOT NULL DEFAULT true,
    connection_state text NOT NULL DEFAULT 'disconnected',
    credentials text,
    profile_name text,
    profile_pic_url text,
    profile_bio text,
    profile_metadata jsonb,
    profile_synced_at timestamptz,
    owner_identifier text,
    download_media_on_sync boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE sync_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    type varchar(50) NOT NULL CHECK (type IN ('profile', 'messages', 'contacts', 'groups', 'all')),
    status varchar(50) NOT NULL DEFAULT 'pending'
      CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    config jsonb NOT NULL DEFAULT '{}',
    progress jsonb NOT NULL DEFAULT '{}',
    error_message text,
    started_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    lease_owner text,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false
  )`,
  'CREATE INDEX sync_jobs_instance_status_idx ON sync_jobs (instance_id, status, created_at)',
  'CREATE INDEX sync_jobs_status_lease_idx ON sync_jobs (status, lease_expires_at)',
  // Invariant 4: at most one running job per instance, enforced by the database itself.
  `CREATE UNIQUE INDEX sync_jobs_one_running_per_instance ON sync_jobs (instance_id) WHERE status = 'running'`,
  `CREATE TABLE sync_job_chats (
    job_id uuid NOT NULL REFERENCES sync_jobs(id) ON DELETE CASCADE,
    chat_id text NOT NULL,
    chat_name text,
    status text NOT NULL DEFAULT 'pending'
      CHECK (status IN ('pending', 'running', 'done', 'exhausted', 'failed', 'skipped')),
    cursor jsonb,
    oldest_at timestamptz,
    newest_at timestamptz,
    fetched integer NOT NULL DEFAULT 0,
    stored integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    exhausted boolean NOT NULL DEFAULT false,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, chat_id)
  )`,
  `CREATE TABLE chats (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    external_id text NOT NULL,
    alt_external_id text,
    name text,
    kind text,
    parent_external_id text,
    metadata jsonb NOT NULL DEFAULT '{}',
    last_message_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (instance_id, external_id)
  )`,
  `CREATE TABLE messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    chat_external_id text NOT NULL,
    external_id text NOT NULL,
    sender_id text,
    sender_name text,
    sent_at timestamptz NOT NULL,
    kind text NOT NULL,
    text text,
    reply_to_external_id text,
    has_media boolean NOT NULL DEFAULT false,
    media_mime_type text,
    media_url text,
    media_local_path text,
    media_metadata jsonb,
    media_sha256 text,
    source text NOT NULL DEFAULT 'sync' CHECK (source IN ('sync', 'live')),
    edited_at timestamptz,
    deleted_at timestamptz,
    raw jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_instance_chat_external_key UNIQUE (instance_id, chat_external_id, external_id)
  )`,
  'CREATE INDEX messages_chat_time_idx ON messages (instance_id, chat_external_id, sent_at, id)',
  'CREATE INDEX messages_media_sha_idx ON messages (instance_id, media_sha256) WHERE media_sha256 IS NOT NULL',
  `CREATE TABLE contacts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    external_id text NOT NULL,
    name text,
    push_name text,
    verified_name text,
    phone_number text,
    lid text,
    avatar_url text,
    metadata jsonb NOT NULL DEFAULT '{}',
    is_present boolean NOT NULL DEFAULT true,
    last_seen_sync_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (instance_id, external_id)
  )`,
  `CREATE TABLE omni_groups (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    external_id varchar(255) NOT NULL,
    name varchar(255),
    description text,
    member_count integer,
    metadata jsonb,
    is_present boolean NOT NULL DEFAULT true,
    last_seen_sync_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (instance_id, external_id)
  )`,
  `CREATE TABLE group_participants (
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    group_external_id text NOT NULL,
    participant_id text NOT NULL,
    role text NOT NULL DEFAULT 'member',
    is_present boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, group_external_id, participant_id)
  )`,
  `CREATE TABLE settings (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE whatsapp_auth (
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    key text NOT NULL,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, key)
  )`,
  `CREATE TABLE lid_mappings (
    instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    lid text NOT NULL,
    pn text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, lid)
  )`,
  'CREATE INDEX lid_mappings_pn_idx ON lid_mappings (instance_id, pn)',
];

/** The initial schema: every table of DESIGN.md. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}
