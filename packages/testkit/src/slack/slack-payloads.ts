import { hash32 } from '../discord/seeded-random.ts';
import {
  type FakeSlackChannel,
  type FakeSlackFile,
  type FakeSlackUser,
  type SlackDataset,
  tsFromMicros,
} from './slack-dataset.ts';

/** A JSON object as the fake answers it. */
export type SlackObject = Record<string, unknown>;

/** Slack's `files` object of a message, with URLs on the fake's own host. */
export function filePayload(
  data: SlackDataset,
  baseUrl: string,
  f: FakeSlackFile,
  user: string,
): SlackObject {
  const path = `${baseUrl}/files-pri/${data.teamId}-${f.id}`;
  return {
    id: f.id,
    name: f.name,
    title: f.name,
    mimetype: f.mimetype,
    filetype: f.filetype,
    size: f.size,
    user,
    mode: 'hosted',
    is_external: false,
    url_private: `${path}/${f.name}`,
    url_private_download: `${path}/download/${f.name}`,
    ...(f.subtype ? { subtype: f.subtype } : {}),
    ...(f.durationMs !== undefined
      ? { duration_ms: f.durationMs, audio_wave_samples: [0, 12, 40, 77, 100, 64, 20, 3] }
      : {}),
    ...(f.width !== undefined ? { original_w: f.width, original_h: f.height } : {}),
  };
}

/** The bytes of a file: the right magic bytes for its type, then seeded filler up to its size. */
export function fileBytes(data: SlackDataset, f: FakeSlackFile): Uint8Array {
  const magic: Record<string, number[]> = {
    'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'application/pdf': [...new TextEncoder().encode('%PDF-1.4\n')],
    'audio/mp4': [0, 0, 0, 0x20, ...new TextEncoder().encode('ftypM4A '), 0, 0, 0, 0],
    'video/mp4': [0, 0, 0, 0x20, ...new TextEncoder().encode('ftypisom'), 0, 0, 2, 0],
  };
  const out = new Uint8Array(f.size);
  const head = magic[f.mimetype] ?? [];
  out.set(head.slice(0, f.size));
  for (let i = head.length; i < f.size; i++) out[i] = hash32(data.seed, i, f.size) & 0xff;
  return out;
}

/** Top-level message `i` of `c` as `conversations.history` returns it. */
export function topMessage(data: SlackDataset, baseUrl: string, c: FakeSlackChannel, i: number): SlackObject {
  const ts = tsFromMicros(data.topMicros(c, i));
  const author = data.author(c, i);
  const change = data.changeKind(c, i);
  if (change) {
    const target = tsFromMicros(data.topMicros(c, i - 1));
    const previous = { type: 'message', user: data.author(c, i - 1).id, text: text(c, i - 1), ts: target };
    if (change === 'message_deleted') {
      return {
        type: 'message',
        subtype: 'message_deleted',
        hidden: true,
        ts,
        deleted_ts: target,
        previous_message: previous,
      };
    }
    return {
      type: 'message',
      subtype: 'message_changed',
      hidden: true,
      ts,
      message: { ...previous, text: `${text(c, i - 1)} (changed)`, edited: { user: previous.user, ts } },
      previous_message: previous,
    };
  }
  if (data.isTombstone(c, i)) {
    return {
      type: 'message',
      subtype: 'tombstone',
      hidden: true,
      user: 'USLACKBOT',
      text: 'This message was deleted.',
      ts,
      ...threadFields(data, c, i, ts),
    };
  }
  if (i === 0 && c.type !== 'im') {
    return {
      type: 'message',
      subtype: 'channel_join',
      user: data.botUserId,
      text: `<@${data.botUserId}> has joined the channel`,
      ts,
    };
  }
  const msg: SlackObject = { type: 'message', user: author.id, text: text(c, i), ts, team: data.teamId };
  if (c.editEvery > 0 && i % c.editEvery === 1) {
    msg.edited = { user: author.id, ts: tsFromMicros(data.topMicros(c, i) + 300_000_000) };
    msg.text = `${text(c, i)} (edited)`;
  }
  const file = data.file(c, i);
  if (file) {
    msg.files = [filePayload(data, baseUrl, file, author.id)];
    msg.upload = true;
  }
  if (data.isRoot(c, i)) Object.assign(msg, threadFields(data, c, i, ts));
  return msg;
}

function threadFields(data: SlackDataset, c: FakeSlackChannel, i: number, ts: string): SlackObject {
  const users = [...new Set(Array.from({ length: c.repliesPerThread }, (_, j) => data.author(c, i, j).id))];
  return {
    thread_ts: ts,
    reply_count: c.repliesPerThread,
    reply_users_count: users.length,
    reply_users: users,
    latest_reply: tsFromMicros(data.replyMicros(c, i, c.repliesPerThread - 1)),
  };
}

/** Reply `j` of the thread of top-level message `i`. */
export function replyMessage(data: SlackDataset, c: FakeSlackChannel, i: number, j: number): SlackObject {
  const root = tsFromMicros(data.topMicros(c, i));
  return {
    type: 'message',
    user: data.author(c, i, j).id,
    text: `reply ${j + 1} to message ${i} in ${c.name}`,
    ts: tsFromMicros(data.replyMicros(c, i, j)),
    thread_ts: root,
    parent_user_id: data.author(c, i).id,
    team: data.teamId,
  };
}

function text(c: FakeSlackChannel, i: number): string {
  return `message ${i} in ${c.name}`;
}

/** A conversation object as `conversations.list` returns it. */
export function conversationPayload(data: SlackDataset, c: FakeSlackChannel): SlackObject {
  const base = {
    id: c.id,
    created: Math.floor(c.startMs / 1000),
    is_archived: c.archived,
    is_im: c.type === 'im',
    is_mpim: c.type === 'mpim',
    is_private: c.type !== 'public_channel',
    context_team_id: data.teamId,
  };
  if (c.type === 'im')
    return { ...base, user: c.members.find((m) => m !== data.botUserId), is_user_deleted: false };
  return {
    ...base,
    name: c.name,
    is_channel: c.type === 'public_channel',
    is_group: c.type === 'private_channel',
    is_general: c.index === 0,
    is_member: c.member,
    creator: c.members[1] ?? data.botUserId,
    num_members: c.members.length,
    topic: { value: `topic of ${c.name}`, creator: c.members[1] ?? '', last_set: 0 },
    purpose: { value: `purpose of ${c.name}`, creator: c.members[1] ?? '', last_set: 0 },
  };
}

/** A user object as `users.list` / `users.info` return it. */
export function userPayload(data: SlackDataset, baseUrl: string, u: FakeSlackUser): SlackObject {
  return {
    id: u.id,
    team_id: data.teamId,
    name: u.name,
    real_name: u.realName,
    deleted: u.deleted,
    is_bot: u.isBot,
    is_admin: u.id === 'U00000001',
    tz: 'Europe/Berlin',
    profile: {
      real_name: u.realName,
      display_name: u.name,
      title: u.isBot ? '' : 'Engineer',
      image_72: `${baseUrl}/avatars/${u.id}_72.png`,
      image_192: `${baseUrl}/avatars/${u.id}_192.png`,
      ...(u.isBot ? { bot_id: data.botId } : {}),
    },
  };
}
