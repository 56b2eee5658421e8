import { hash32 } from '../discord/seeded-random.ts';

const DAY_MS = 86_400_000;
/** The last top-level message is this long before `nowMs`, so every reply is older than now. */
const TAIL_MS = 3_600_000;
/** Replies of a thread come this far apart after their root. */
export const REPLY_GAP_MS = 60_000;

/** Conversation types as `conversations.list` names them. */
export type SlackConversationType = 'public_channel' | 'private_channel' | 'im' | 'mpim';

/** One conversation of a fake workspace. */
export interface SlackChannelSpec {
  name: string;
  /** @defaultValue 'public_channel' */
  type?: SlackConversationType;
  /** Top-level messages (thread replies come on top). */
  messageCount: number;
  /** Days the top-level messages spread over, ending an hour before `nowMs`. @defaultValue 60 */
  historyDays?: number;
  /** Every n-th top-level message starts a thread (0 = none). @defaultValue 10 */
  threadEvery?: number;
  /** Replies of each thread (at most 50). @defaultValue 3 */
  repliesPerThread?: number;
  /** Every n-th top-level message carries a file (0 = none). @defaultValue 0 */
  fileEvery?: number;
  /** Every n-th top-level message was edited (`edited`). @defaultValue 0 */
  editEvery?: number;
  /** Every n-th thread root was deleted and is a `tombstone`. @defaultValue 0 */
  tombstoneEvery?: number;
  /**
   * Every n-th top-level message is a `message_changed` / `message_deleted` entry (alternately)
   * about the message before it. @defaultValue 0
   */
  changeEvery?: number;
  /** @defaultValue false */
  archived?: boolean;
  /** The token's user is a member. @defaultValue true */
  member?: boolean;
}

/** A fake workspace: team, users, conversations, all derived from a seed. */
export interface SlackDatasetSpec {
  /** @defaultValue 1 */
  seed?: number;
  /** The workspace's "now", UTC ms. @defaultValue Date.now() */
  nowMs?: number;
  /** @defaultValue 'Fake Workspace' */
  teamName?: string;
  /** Human users besides the token's own. @defaultValue 12 */
  users?: number;
  channels: SlackChannelSpec[];
}

/** A conversation of the dataset with its derived facts. */
export interface FakeSlackChannel extends Required<Omit<SlackChannelSpec, 'type'>> {
  index: number;
  id: string;
  type: SlackConversationType;
  /** Time of top-level message 0, UTC ms. */
  startMs: number;
  /** Time between top-level messages, ms. */
  stepMs: number;
  /** Members (user ids). */
  members: string[];
}

/** A user of the workspace. */
export interface FakeSlackUser {
  id: string;
  name: string;
  realName: string;
  isBot: boolean;
  deleted: boolean;
}

/** A file of a message. */
export interface FakeSlackFile {
  id: string;
  name: string;
  mimetype: string;
  filetype: string;
  size: number;
  /** Slack's `subtype` of voice clips. */
  subtype?: 'slack_audio';
  durationMs?: number;
  width?: number;
  height?: number;
}

const FILE_KINDS = [
  { mimetype: 'image/png', filetype: 'png', ext: 'png', width: 640, height: 480 },
  { mimetype: 'application/pdf', filetype: 'pdf', ext: 'pdf' },
  { mimetype: 'audio/mp4', filetype: 'm4a', ext: 'm4a', voice: true },
  { mimetype: 'video/mp4', filetype: 'mp4', ext: 'mp4', width: 320, height: 240 },
] as const;

/** `seconds.micros` as Slack writes a ts, from microseconds since the epoch. */
export function tsFromMicros(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros - seconds * 1_000_000).padStart(6, '0')}`;
}

/** Microseconds since the epoch of a Slack ts; `NaN` when it is not one. */
export function microsFromTs(ts: string): number {
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(ts);
  if (!m) return Number.NaN;
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** UTC ms of a Slack ts (sub-millisecond part dropped). */
export function msFromTs(ts: string): number {
  return Math.floor(microsFromTs(ts) / 1000);
}

/**
 * The structure of a fake Slack workspace built from a seed. Messages are not stored: message n of
 * a conversation, its thread and its files are derived when asked, so a bench can ask for millions.
 */
export class SlackDataset {
  readonly seed: number;
  readonly nowMs: number;
  readonly teamId: string;
  readonly teamName: string;
  readonly teamDomain: string;
  readonly botId = 'B0FAKEBOT';
  readonly botUserId = 'U0FAKEBOT';
  readonly users: FakeSlackUser[];
  readonly channels: FakeSlackChannel[];

  constructor(spec: SlackDatasetSpec) {
    this.seed = spec.seed ?? 1;
    this.nowMs = spec.nowMs ?? Date.now();
    this.teamId = `T0${(hash32(this.seed, 1) % 1e8).toString(36).toUpperCase()}`;
    this.teamName = spec.teamName ?? 'Fake Workspace';
    this.teamDomain = this.teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    const humans = spec.users ?? 12;
    this.users = [
      { id: this.botUserId, name: 'omni-sync', realName: 'omni-sync', isBot: true, deleted: false },
      ...Array.from({ length: humans }, (_, i) => ({
        id: `U${String(i + 1).padStart(8, '0')}`,
        name: `user${i + 1}`,
        realName: `User ${i + 1}`,
        isBot: false,
        deleted: i === humans - 1 && humans > 3,
      })),
    ];
    this.channels = spec.channels.map((c, index) => {
      const historyDays = c.historyDays ?? 60;
      const span = historyDays * DAY_MS - TAIL_MS;
      const stepMs = Math.max(1, Math.floor(span / Math.max(1, c.messageCount)));
      const type = c.type ?? 'public_channel';
      const prefix = type === 'public_channel' ? 'C' : type === 'im' ? 'D' : 'G';
      const people = this.users.filter((u) => !u.isBot);
      const members =
        type === 'im'
          ? [this.botUserId, people[index % people.length]!.id]
          : [this.botUserId, ...people.filter((_, i) => (i + index) % 2 === 0).map((u) => u.id)];
      return {
        index,
        id: `${prefix}${String(index + 1).padStart(8, '0')}`,
        name: c.name,
        type,
        messageCount: c.messageCount,
        historyDays,
        threadEvery: c.threadEvery ?? 10,
        repliesPerThread: Math.min(50, c.repliesPerThread ?? 3),
        fileEvery: c.fileEvery ?? 0,
        editEvery: c.editEvery ?? 0,
        tombstoneEvery: c.tombstoneEvery ?? 0,
        changeEvery: c.changeEvery ?? 0,
        archived: c.archived ?? false,
        member: c.member ?? true,
        startMs: this.nowMs - TAIL_MS - stepMs * c.messageCount,
        stepMs,
        members,
      };
    });
  }

  /** The conversation with this id. */
  channel(id: string): FakeSlackChannel | undefined {
    return this.channels.find((c) => c.id === id);
  }

  /** Microseconds of top-level message `i`. */
  topMicros(c: FakeSlackChannel, i: number): number {
    return (c.startMs + i * c.stepMs) * 1000;
  }

  /** Whether top-level message `i` starts a thread. */
  isRoot(c: FakeSlackChannel, i: number): boolean {
    return c.threadEvery > 0 && c.repliesPerThread > 0 && i % c.threadEvery === c.threadEvery - 1;
  }

  /** Microseconds of reply `j` of the thread started by top-level message `i`. */
  replyMicros(c: FakeSlackChannel, i: number, j: number): number {
    return this.topMicros(c, i) + (j + 1) * REPLY_GAP_MS * 1000 + 500 + j;
  }

  /** Index of the top-level message with this ts, or -1. */
  topIndex(c: FakeSlackChannel, micros: number): number {
    const offset = micros - c.startMs * 1000;
    const step = c.stepMs * 1000;
    if (offset < 0 || offset % step !== 0) return -1;
    const i = offset / step;
    return i < c.messageCount ? i : -1;
  }

  /** Indexes of top-level messages with `oldest < ts < latest` (micros), ascending. */
  topRange(c: FakeSlackChannel, oldestMicros: number, latestMicros: number): { from: number; to: number } {
    const step = c.stepMs * 1000;
    const base = c.startMs * 1000;
    const from = Math.max(0, Math.floor((oldestMicros - base) / step) + 1);
    const to = Math.min(c.messageCount - 1, Math.ceil((latestMicros - base) / step) - 1);
    return { from, to };
  }

  /** Top-level message `i` is a `message_changed` / `message_deleted` entry (or neither). */
  changeKind(c: FakeSlackChannel, i: number): 'message_changed' | 'message_deleted' | null {
    if (c.changeEvery <= 0 || i === 0 || i % c.changeEvery !== c.changeEvery - 2) return null;
    if (this.isRoot(c, i) || this.isRoot(c, i - 1)) return null;
    return Math.floor(i / c.changeEvery) % 2 === 0 ? 'message_changed' : 'message_deleted';
  }

  /** Whether thread root `i` was deleted (a `tombstone` keeps its thread). */
  isTombstone(c: FakeSlackChannel, i: number): boolean {
    if (!this.isRoot(c, i) || c.tombstoneEvery <= 0) return false;
    return Math.floor(i / c.threadEvery) % c.tombstoneEvery === c.tombstoneEvery - 1;
  }

  /** The author of a message (a human member of the conversation). */
  author(c: FakeSlackChannel, i: number, j = -1): FakeSlackUser {
    const humans = c.members.filter((m) => m !== this.botUserId);
    const id = humans[hash32(this.seed, c.index, i, j) % humans.length]!;
    return this.users.find((u) => u.id === id)!;
  }

  /** The file of top-level message `i`, if it has one. */
  file(c: FakeSlackChannel, i: number): FakeSlackFile | null {
    if (c.fileEvery <= 0 || i % c.fileEvery !== 0 || this.changeKind(c, i) || this.isTombstone(c, i))
      return null;
    const kind = FILE_KINDS[Math.floor(i / c.fileEvery) % FILE_KINDS.length]!;
    const id = `F${String(c.index + 1).padStart(3, '0')}${String(i).padStart(7, '0')}`;
    return {
      id,
      name: `${kind.filetype}-${i}.${kind.ext}`,
      mimetype: kind.mimetype,
      filetype: kind.filetype,
      size: 256 + (hash32(this.seed, c.index, i, 7) % 2048),
      ...('voice' in kind ? { subtype: 'slack_audio' as const, durationMs: 1000 + (i % 30) * 1000 } : {}),
      ...('width' in kind ? { width: kind.width, height: kind.height } : {}),
    };
  }

  /** Finds a file by id (`F<channel><index>`). */
  fileById(id: string): { channel: FakeSlackChannel; index: number; file: FakeSlackFile } | null {
    const m = /^F(\d{3})(\d{7})$/.exec(id);
    if (!m) return null;
    const channel = this.channels[Number(m[1]) - 1];
    if (!channel) return null;
    const index = Number(m[2]);
    const file = index < channel.messageCount ? this.file(channel, index) : null;
    return file ? { channel, index, file } : null;
  }

  /** Replies counted as messages of conversation `c`. */
  replyCount(c: FakeSlackChannel): number {
    if (c.threadEvery <= 0) return 0;
    return Math.floor(c.messageCount / c.threadEvery) * c.repliesPerThread;
  }

  /**
   * The message ts a history sync of `c` must store for the window [since, until): top-level
   * messages in it, and the replies (before `until`) of every thread whose root is in it.
   */
  expectedTs(c: FakeSlackChannel, since: number | null, until: number): string[] {
    const oldest = since === null ? Number.NEGATIVE_INFINITY : since * 1000 - 1;
    const { from, to } = this.topRange(c, oldest, until * 1000);
    const out: string[] = [];
    for (let i = from; i <= to; i++) {
      out.push(tsFromMicros(this.topMicros(c, i)));
      if (!this.isRoot(c, i)) continue;
      for (let j = 0; j < c.repliesPerThread; j++) {
        const micros = this.replyMicros(c, i, j);
        if (micros < until * 1000) out.push(tsFromMicros(micros));
      }
    }
    return out;
  }
}
