/** Kind of a fake guild channel. */
export type FakeChannelKind = 'text' | 'announcement' | 'forum';

/** A thread (or forum post) under a channel. */
export interface FakeThreadSpec {
  name: string;
  /** Archived threads are only listed by the archived-threads routes. @defaultValue false */
  archived?: boolean;
  /** Private threads need MANAGE_THREADS to be listed when archived. @defaultValue false */
  private?: boolean;
  messageCount: number;
  /** History spread over the last N days before `nowMs`. @defaultValue 10 */
  historyDays?: number;
}

/** A guild channel. */
export interface FakeChannelSpec {
  name: string;
  /** @defaultValue 'text' */
  kind?: FakeChannelKind;
  topic?: string | null;
  /** Messages in the channel itself (forums have none). @defaultValue 0 */
  messageCount?: number;
  /**
   * History spread over the last N days before `nowMs` (a channel whose history starts after a
   * sync's `since` is exhausted early). @defaultValue 60
   */
  historyDays?: number;
  /** `false` denies VIEW_CHANNEL to the bot: the messages route answers 403. @defaultValue true */
  readable?: boolean;
  threads?: FakeThreadSpec[];
}

/** A guild. */
export interface FakeGuildSpec {
  name: string;
  description?: string | null;
  /** Members listed by `GET /guilds/:id/members` (the bot comes on top). @defaultValue 25 */
  memberCount?: number;
  channels: FakeChannelSpec[];
}

/** Share of each special message shape, each a probability in [0, 1]; the rest is plain text. */
export interface FakeMessageMix {
  voice: number;
  image: number;
  pdf: number;
  video: number;
  audio: number;
  sticker: number;
  embed: number;
  system: number;
  /** Independent of the kind: a reply to a recent message. */
  reply: number;
  /** Independent of the kind: edited after sending. */
  edited: number;
}

/** Default mix: every shape shows up in a few hundred messages. */
export const DEFAULT_MESSAGE_MIX = {
  voice: 0.03,
  image: 0.06,
  pdf: 0.02,
  video: 0.01,
  audio: 0.01,
  sticker: 0.02,
  embed: 0.03,
  system: 0.02,
  reply: 0.1,
  edited: 0.05,
} as const satisfies FakeMessageMix;

/** Everything the generator derives a dataset from. */
export interface FakeDiscordDataOptions {
  /** Same seed, same dataset. @defaultValue 1 */
  seed?: number;
  /** The "present" of the dataset, UTC ms: histories end just before it. @defaultValue Date.now() */
  nowMs?: number;
  guilds: FakeGuildSpec[];
  /** @defaultValue 'omni-bot' */
  botName?: string;
  /** The application's description (the profile bio). @defaultValue 'Omni history sync bot' */
  applicationDescription?: string;
  mix?: Partial<FakeMessageMix>;
  /** Upper bound of generated attachment sizes, bytes (kept small so tests stay fast). @defaultValue 32768 */
  maxAttachmentBytes?: number;
}
