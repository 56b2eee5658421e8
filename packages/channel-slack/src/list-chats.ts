import {
  type ChatInfo,
  type ChatListing,
  chatId,
  type JsonValue,
  PermanentError,
  type PluginContext,
  type RequestKind,
} from '@omni/sync-core';
import type { SlackApiClient, SlackAuth } from './slack-api-client.ts';
import type { SlackAppTier, SlackPluginOptions } from './slack-plugin-options.ts';

/** Conversation types as `conversations.list` names them. */
export type SlackConversationType = 'public_channel' | 'private_channel' | 'im' | 'mpim';

/** The part of a Slack conversation object the plugin reads. */
export interface SlackConversation {
  id: string;
  name?: string;
  user?: string;
  created?: number;
  creator?: string;
  is_channel?: boolean;
  is_group?: boolean;
  is_im?: boolean;
  is_mpim?: boolean;
  is_private?: boolean;
  is_archived?: boolean;
  is_member?: boolean;
  num_members?: number;
  topic?: { value?: string };
  purpose?: { value?: string };
}

interface ListAnswer {
  channels?: SlackConversation[];
  response_metadata?: { next_cursor?: string };
}

const SCOPES: Record<SlackConversationType, { read: string; history: string; label: string }> = {
  public_channel: { read: 'channels:read', history: 'channels:history', label: 'public channels' },
  private_channel: { read: 'groups:read', history: 'groups:history', label: 'private channels' },
  im: { read: 'im:read', history: 'im:history', label: 'direct messages' },
  mpim: { read: 'mpim:read', history: 'mpim:history', label: 'group direct messages' },
};

/** The type of a conversation object. */
export function conversationType(c: SlackConversation): SlackConversationType {
  if (c.is_im) return 'im';
  if (c.is_mpim) return 'mpim';
  return c.is_private || c.is_group ? 'private_channel' : 'public_channel';
}

/**
 * The conversation types the token may list (their `:read` scope granted), and a warning for each
 * type it may not. Scopes Slack did not state count as granted (the call then says).
 */
export function listableTypes(
  auth: SlackAuth,
  wanted: readonly SlackConversationType[],
): { types: SlackConversationType[]; warnings: string[] } {
  const types: SlackConversationType[] = [];
  const warnings: string[] = [];
  for (const type of wanted) {
    const { read, label } = SCOPES[type];
    if (auth.scopes === null || auth.scopes.includes(read)) types.push(type);
    else warnings.push(`Slack token lacks ${read}: ${label} are not listed`);
  }
  return { types, warnings };
}

/** Every page of `conversations.list` for these types (archived included). */
export async function* listConversations(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
  types: readonly SlackConversationType[],
  kind: RequestKind,
  cursor: string | null = null,
): AsyncGenerator<{ channels: SlackConversation[]; next: string | null }> {
  let next = cursor;
  do {
    const at = next;
    const page = await ctx.request(kind, () =>
      api.call<ListAnswer>(
        'conversations.list',
        {
          types: types.join(','),
          exclude_archived: false,
          limit: options.directoryPageSize,
          ...(at ? { cursor: at } : {}),
        },
        appTier,
        ctx.signal,
      ),
    );
    next = page.response_metadata?.next_cursor || null;
    yield { channels: page.channels ?? [], next };
  } while (next);
}

/** Why the token cannot read a conversation's history, or `null` when it can. */
export function unreadableReason(auth: SlackAuth, c: SlackConversation): string | null {
  const type = conversationType(c);
  const { history } = SCOPES[type];
  if (auth.scopes !== null && !auth.scopes.includes(history))
    return `missing scope ${history} (Slack: missing_scope)`;
  if (type !== 'im' && c.is_member === false) {
    return auth.botId
      ? 'not_in_channel: the app is not a member; invite it (/invite @app) to sync this channel'
      : 'not_in_channel: the user is not a member of this channel';
  }
  return null;
}

/**
 * Every conversation the token can see: public and private channels, DMs and group DMs where the
 * scopes allow (a type whose `:read` scope is missing is a warning; a conversation whose
 * `:history` scope is missing, or whose channel the app is not in, is listed unreadable with the
 * reason — never a silent empty chat). Archived conversations are listed, flagged in `metadata`.
 */
export async function listSlackChats(
  ctx: PluginContext,
  api: SlackApiClient,
  options: SlackPluginOptions,
  appTier: SlackAppTier,
): Promise<ChatListing> {
  const auth = await ctx.request('profile', () => api.auth(ctx.signal));
  const { types, warnings } = listableTypes(auth, ['public_channel', 'private_channel', 'im', 'mpim']);
  const chats: ChatInfo[] = [];
  if (types.length === 0) return { chats, warnings };
  try {
    for await (const page of listConversations(ctx, api, options, appTier, types, 'contacts')) {
      for (const c of page.channels) chats.push(toChatInfo(auth, c));
    }
  } catch (error) {
    if (!(error instanceof PermanentError) || error.details?.slackError !== 'missing_scope') throw error;
    warnings.push(`Slack refused conversations.list: ${error.message}`);
  }
  const archived = chats.filter((c) => c.metadata?.isArchived === true).length;
  if (archived > 0)
    warnings.push(`${archived} archived Slack conversation(s) included (read-only, history kept)`);
  return { chats, warnings };
}

function toChatInfo(auth: SlackAuth, c: SlackConversation): ChatInfo {
  const type = conversationType(c);
  const reason = unreadableReason(auth, c);
  const metadata: Record<string, JsonValue> = {
    type,
    isPrivate: type !== 'public_channel',
    isArchived: c.is_archived === true,
    isMember: c.is_member ?? type === 'im',
    numMembers: c.num_members ?? null,
    topic: c.topic?.value || null,
    purpose: c.purpose?.value || null,
    created: typeof c.created === 'number' ? c.created * 1000 : null,
    user: c.user ?? null,
    teamId: auth.teamId,
  };
  return {
    id: chatId(c.id),
    name: c.name ?? (c.user ? `@${c.user}` : null),
    kind: type === 'im' ? 'dm' : type === 'mpim' ? 'group' : 'channel',
    parentId: auth.teamId,
    readable: reason === null,
    ...(reason === null ? {} : { reason }),
    metadata,
  };
}
