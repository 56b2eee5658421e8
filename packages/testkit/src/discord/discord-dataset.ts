import { ChannelType } from 'discord-api-types/v10';
import {
  DEFAULT_MESSAGE_MIX,
  type FakeChannelKind,
  type FakeDiscordDataOptions,
  type FakeMessageMix,
} from './dataset-spec.ts';
import { snowflakeFromParts, snowflakeToMs } from './snowflake.ts';

const DAY_MS = 86_400_000;
/** Ids of guilds, channels, roles and the bot are minted at this time (2020-01-01). */
const ENTITY_BASE_MS = 1577836800000;
/** Member user ids are minted from this time, 10 ms apart, one block per guild. */
const USER_BASE_MS = 1580515200000;
const USER_BLOCK_MS = 10_000_000_000;

/** A guild of the dataset. */
export interface FakeGuild {
  index: number;
  id: string;
  name: string;
  description: string | null;
  icon: string;
  memberCount: number;
  /** Role every bot member has. */
  botRoleId: string;
}

/** A chat of the dataset: a channel (text, announcement, forum) or a thread. */
export interface FakeChat {
  index: number;
  id: string;
  guildId: string;
  parentId: string | null;
  name: string;
  type: ChannelType;
  kind: FakeChannelKind | 'thread';
  topic: string | null;
  isThread: boolean;
  archived: boolean;
  isPrivate: boolean;
  readable: boolean;
  messageCount: number;
  /** Time of message 0, UTC ms. */
  firstMs: number;
  /** Time after the last message, UTC ms. */
  endMs: number;
}

/**
 * The structure of a fake Discord world (guilds, chats, members) built from a seed. Messages are
 * not stored: {@link MessageGenerator} derives message n of a chat when asked.
 */
export class DiscordDataset {
  readonly seed: number;
  readonly nowMs: number;
  readonly botName: string;
  readonly applicationDescription: string;
  readonly mix: FakeMessageMix;
  readonly maxAttachmentBytes: number;
  readonly botId: string;
  readonly applicationId: string;
  readonly guilds: FakeGuild[] = [];
  readonly chats: FakeChat[] = [];
  readonly #chatsById = new Map<string, FakeChat>();
  readonly #guildsById = new Map<string, FakeGuild>();

  constructor(options: FakeDiscordDataOptions) {
    this.seed = options.seed ?? 1;
    this.nowMs = options.nowMs ?? Date.now();
    this.botName = options.botName ?? 'omni-bot';
    this.applicationDescription = options.applicationDescription ?? 'Omni history sync bot';
    this.mix = { ...DEFAULT_MESSAGE_MIX, ...options.mix };
    this.maxAttachmentBytes = options.maxAttachmentBytes ?? 32768;
    let counter = 1;
    const mint = () => snowflakeFromParts(ENTITY_BASE_MS + counter * 1000, counter++);
    this.botId = mint();
    this.applicationId = this.botId;
    options.guilds.forEach((spec, gi) => {
      const guild: FakeGuild = {
        index: gi,
        id: mint(),
        name: spec.name,
        description: spec.description ?? null,
        icon: `a${gi.toString(16).padStart(31, '0')}`,
        memberCount: spec.memberCount ?? 25,
        botRoleId: mint(),
      };
      this.guilds.push(guild);
      this.#guildsById.set(guild.id, guild);
      for (const ch of spec.channels) {
        const kind = ch.kind ?? 'text';
        const type =
          kind === 'forum'
            ? ChannelType.GuildForum
            : kind === 'announcement'
              ? ChannelType.GuildAnnouncement
              : ChannelType.GuildText;
        const channel = this.#addChat({
          id: mint(),
          guildId: guild.id,
          parentId: null,
          name: ch.name,
          type,
          kind,
          topic: ch.topic ?? null,
          isThread: false,
          archived: false,
          isPrivate: false,
          readable: ch.readable ?? true,
          messageCount: kind === 'forum' ? 0 : (ch.messageCount ?? 0),
          historyDays: ch.historyDays ?? 60,
        });
        for (const th of ch.threads ?? []) {
          const days = th.historyDays ?? 10;
          this.#addChat({
            id: snowflakeFromParts(this.nowMs - days * DAY_MS - 60_000, this.chats.length),
            guildId: guild.id,
            parentId: channel.id,
            name: th.name,
            type:
              th.private === true
                ? ChannelType.PrivateThread
                : kind === 'announcement'
                  ? ChannelType.AnnouncementThread
                  : ChannelType.PublicThread,
            kind: 'thread',
            topic: null,
            isThread: true,
            archived: th.archived ?? false,
            isPrivate: th.private ?? false,
            readable: channel.readable,
            messageCount: th.messageCount,
            historyDays: days,
          });
        }
      }
    });
  }

  #addChat(spec: Omit<FakeChat, 'index' | 'firstMs' | 'endMs'> & { historyDays: number }): FakeChat {
    const endMs = this.nowMs - 60_000;
    const firstMs = this.nowMs - spec.historyDays * DAY_MS;
    if (spec.messageCount > 0 && (endMs - firstMs) / spec.messageCount < 4) {
      throw new RangeError(
        `chat ${spec.name}: ${spec.messageCount} messages do not fit in ${spec.historyDays} days`,
      );
    }
    const { historyDays: _days, ...rest } = spec;
    const chat: FakeChat = { ...rest, index: this.chats.length, firstMs, endMs };
    this.chats.push(chat);
    this.#chatsById.set(chat.id, chat);
    return chat;
  }

  /** The chat with this id, if any. */
  chat(id: string): FakeChat | undefined {
    return this.#chatsById.get(id);
  }

  /** The guild with this id, if any. */
  guild(id: string): FakeGuild | undefined {
    return this.#guildsById.get(id);
  }

  /** Chats (channels and threads) of a guild. */
  chatsOfGuild(guildId: string): FakeChat[] {
    return this.chats.filter((c) => c.guildId === guildId);
  }

  /** User id of member `i` (0-based) of a guild; ids grow with `i`, as the members route pages by id. */
  memberId(guild: FakeGuild, i: number): string {
    return snowflakeFromParts(USER_BASE_MS + guild.index * USER_BLOCK_MS + i * 10, 0);
  }

  /** Index of the first member whose id is greater than `afterId`. */
  memberIndexAfter(guild: FakeGuild, afterId: string): number {
    const ms = snowflakeToMs(afterId) - USER_BASE_MS - guild.index * USER_BLOCK_MS;
    if (ms < 0) return 0;
    return Math.floor(ms / 10) + 1;
  }

  /** Total number of messages over all chats. */
  get totalMessages(): number {
    return this.chats.reduce((n, c) => n + c.messageCount, 0);
  }
}
