import {
  type DirectoryPage,
  externalUserId,
  type JsonValue,
  type NormalizedContact,
  type NormalizedGroup,
  NotFoundError,
  type PageParams,
  PermanentError,
  type PluginContext,
  type SyncError,
} from '@omni/sync-core';
import { conversationType, listableTypes, listConversations, type SlackConversation } from './list-chats.ts';
import type { SlackApiClient } from './slack-api-client.ts';
import type { SlackAppTier, SlackPluginOptions } from './slack-plugin-options.ts';

interface SlackUser {
  id: string;
  team_id?: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_admin?: boolean;
  tz?: string;
  profile?: {
    real_name?: string;
    display_name?: string;
    title?: string;
    image_192?: string;
    image_72?: string;
  };
}

interface UsersAnswer {
  members?: SlackUser[];
  response_metadata?: { next_cursor?: string };
}

interface MembersAnswer {
  members?: string[];
  response_metadata?: { next_cursor?: string };
}

const isMissingScope = (error: unknown): error is SyncError =>
  error instanceof PermanentError && error.details?.slackError === 'missing_scope';

/** `users.list`, page by page; a missing `users:read` is a warning, not a failure. */
export async function* fetchSlackContacts(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
  params: PageParams,
): AsyncGenerator<DirectoryPage<NormalizedContact>> {
  let cursor = typeof params.cursor === 'string' && params.cursor !== '' ? params.cursor : null;
  for (;;) {
    const at = cursor;
    let page: UsersAnswer;
    try {
      page = await ctx.request('contacts', () =>
        api.call<UsersAnswer>(
          'users.list',
          { limit: options.directoryPageSize, ...(at ? { cursor: at } : {}) },
          appTier,
          ctx.signal,
        ),
      );
    } catch (error) {
      if (!isMissingScope(error)) throw error;
      yield {
        items: [],
        cursor: at,
        hasMore: false,
        warnings: [`Slack contacts not synced: ${error.message}`],
      };
      return;
    }
    cursor = page.response_metadata?.next_cursor || null;
    yield { items: (page.members ?? []).map(toContact), cursor, hasMore: cursor !== null };
    if (cursor === null) return;
  }
}

function toContact(u: SlackUser): NormalizedContact {
  const metadata: Record<string, JsonValue> = {
    username: u.name ?? null,
    isBot: u.is_bot === true,
    deleted: u.deleted === true,
    isAdmin: u.is_admin === true,
    tz: u.tz ?? null,
    title: u.profile?.title || null,
    teamId: u.team_id ?? null,
  };
  return {
    externalId: externalUserId(u.id),
    name: u.profile?.real_name || u.real_name || u.name || null,
    pushName: u.profile?.display_name || null,
    avatarUrl: u.profile?.image_192 || u.profile?.image_72 || null,
    metadata,
  };
}

/**
 * Channels (public, private, group DMs the token sees) with their members from
 * `conversations.members`; members a channel refuses become a warning and the group is kept.
 */
export async function* fetchSlackGroups(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
  params: PageParams,
): AsyncGenerator<DirectoryPage<NormalizedGroup>> {
  const auth = await ctx.request('profile', () => api.auth(ctx.signal));
  const { types, warnings } = listableTypes(auth, ['public_channel', 'private_channel', 'mpim']);
  const start = typeof params.cursor === 'string' && params.cursor !== '' ? params.cursor : null;
  if (types.length === 0) {
    yield { items: [], cursor: null, hasMore: false, warnings };
    return;
  }
  let first = true;
  try {
    for await (const page of listConversations(ctx, api, options, appTier, types, 'contacts', start)) {
      const pageWarnings = first ? [...warnings] : [];
      first = false;
      const items: NormalizedGroup[] = [];
      for (const c of page.channels) items.push(await toGroup(ctx, api, options, appTier, c, pageWarnings));
      yield { items, cursor: page.next, hasMore: page.next !== null, warnings: pageWarnings };
    }
  } catch (error) {
    if (!isMissingScope(error)) throw error;
    yield {
      items: [],
      cursor: start,
      hasMore: false,
      warnings: [...warnings, `Slack groups not synced: ${error.message}`],
    };
  }
}

async function toGroup(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
  c: SlackConversation,
  warnings: string[],
): Promise<NormalizedGroup> {
  const members: string[] = [];
  let complete = true;
  let cursor: string | null = null;
  try {
    do {
      const at: string | null = cursor;
      const page: MembersAnswer = await ctx.request('contacts', () =>
        api.call<MembersAnswer>(
          'conversations.members',
          { channel: c.id, limit: options.directoryPageSize, ...(at ? { cursor: at } : {}) },
          appTier,
          ctx.signal,
        ),
      );
      members.push(...(page.members ?? []));
      cursor = page.response_metadata?.next_cursor || null;
    } while (cursor);
  } catch (error) {
    if (!(error instanceof PermanentError || error instanceof NotFoundError)) throw error;
    complete = false;
    warnings.push(`members of Slack channel ${c.name ?? c.id} not listed: ${(error as Error).message}`);
  }
  return {
    externalId: c.id,
    name: c.name ?? null,
    description: c.purpose?.value || null,
    memberCount: c.num_members ?? (complete ? members.length : null),
    ...(complete
      ? { participants: members.map((id) => ({ id, role: id === c.creator ? 'owner' : 'member' })) }
      : {}),
    metadata: {
      type: conversationType(c),
      isArchived: c.is_archived === true,
      isPrivate: conversationType(c) !== 'public_channel',
      topic: c.topic?.value || null,
      creator: c.creator ?? null,
    },
  };
}
