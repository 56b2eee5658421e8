import {
  type APIAttachment,
  type APIEmbed,
  type APIMessage,
  type APIUser,
  MessageFlags,
  MessageReferenceType,
  MessageType,
  StickerFormatType,
} from 'discord-api-types/v10';
import type { DiscordDataset, FakeChat } from './discord-dataset.ts';
import { attachmentBytes, attachmentFor, type FakeAttachmentInfo } from './fake-attachments.ts';
import { hash32, intBetween, unit } from './seeded-random.ts';
import { snowflakeFromParts } from './snowflake.ts';

/** Shape of message n, decided by the seed. */
export type FakeMessageShape =
  | 'text'
  | 'voice'
  | 'image'
  | 'pdf'
  | 'video'
  | 'audio'
  | 'sticker'
  | 'embed'
  | 'system';

/** Query of `GET /channels/:id/messages`. */
export interface MessagePageQuery {
  limit: number;
  before?: string;
  after?: string;
  around?: string;
}

/**
 * Derives message n of a chat from the dataset's seed: ids grow with n and encode the message
 * time, so a page is found by binary search and nothing is kept in memory.
 */
export class MessageGenerator {
  readonly #data: DiscordDataset;

  constructor(data: DiscordDataset) {
    this.#data = data;
  }

  /** Time of message n, UTC ms. Strictly increasing with n. */
  timeAt(chat: FakeChat, n: number): number {
    const spacing = (chat.endMs - chat.firstMs) / chat.messageCount;
    return chat.firstMs + Math.floor(n * spacing + unit(this.#data.seed, chat.index, n, 0) * 0.5 * spacing);
  }

  /** Snowflake of message n. */
  idAt(chat: FakeChat, n: number): string {
    return snowflakeFromParts(this.timeAt(chat, n), ((chat.index & 0x3ff) << 12) | (n & 0xfff));
  }

  /** Number of messages whose id is below `id` (= index of the first message with id ≥ `id`). */
  countBelow(chat: FakeChat, id: string): number {
    const target = BigInt(id);
    let lo = 0;
    let hi = chat.messageCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (BigInt(this.idAt(chat, mid)) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of messages sent before `ms` (UTC). */
  countBeforeTime(chat: FakeChat, ms: number): number {
    let lo = 0;
    let hi = chat.messageCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(chat, mid) < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Ids of the messages with `sinceMs ≤ time < untilMs` (`sinceMs` null = from the first), oldest first. */
  idsBetween(chat: FakeChat, sinceMs: number | null, untilMs: number): string[] {
    const from = sinceMs === null ? 0 : this.countBeforeTime(chat, sinceMs);
    const to = this.countBeforeTime(chat, untilMs);
    const ids: string[] = [];
    for (let n = from; n < to; n++) ids.push(this.idAt(chat, n));
    return ids;
  }

  /** Shape of message n. */
  shapeAt(chat: FakeChat, n: number): FakeMessageShape {
    const mix = this.#data.mix;
    let r = unit(this.#data.seed, chat.index, n, 1);
    const order: [FakeMessageShape, number][] = [
      ['voice', mix.voice],
      ['image', mix.image],
      ['pdf', mix.pdf],
      ['video', mix.video],
      ['audio', mix.audio],
      ['sticker', mix.sticker],
      ['embed', mix.embed],
      ['system', mix.system],
    ];
    for (const [shape, p] of order) {
      if (r < p) return shape;
      r -= p;
    }
    return 'text';
  }

  /** Attachment of message n, if its shape has one. */
  attachmentAt(chat: FakeChat, n: number): FakeAttachmentInfo | null {
    return attachmentFor(this.shapeAt(chat, n), this.idAt(chat, n), this.#data, chat.index, n);
  }

  /** The bytes of an attachment: a valid magic header for its type, then seeded filler. */
  attachmentBytes(info: FakeAttachmentInfo): Uint8Array {
    return attachmentBytes(info, this.#data.seed);
  }

  /** Author of message n: one of the guild's first 40 members. */
  authorAt(chat: FakeChat, n: number): APIUser {
    const guild = this.#data.guild(chat.guildId)!;
    const i = hash32(this.#data.seed, chat.index, n, 8) % Math.max(1, Math.min(40, guild.memberCount));
    return fakeUser(this.#data.memberId(guild, i), i);
  }

  /**
   * Message n as the messages route returns it. Without the Message Content intent, `content`,
   * `embeds` and `attachments` come back empty, as on Discord.
   */
  message(
    chat: FakeChat,
    n: number,
    options: { messageContent: boolean; signUrl: (path: string) => string },
  ): APIMessage {
    const seed = this.#data.seed;
    const shape = this.shapeAt(chat, n);
    const id = this.idAt(chat, n);
    const time = this.timeAt(chat, n);
    const isReply = shape !== 'system' && n > 0 && unit(seed, chat.index, n, 9) < this.#data.mix.reply;
    const edited = shape !== 'system' && unit(seed, chat.index, n, 10) < this.#data.mix.edited;
    const info = this.attachmentAt(chat, n);
    const attachments: APIAttachment[] = [];
    if (info) {
      const path = `/attachments/${chat.id}/${info.id}/${info.filename}`;
      const url = options.signUrl(path);
      const att: APIAttachment = {
        id: info.id,
        filename: info.filename,
        content_type: info.contentType,
        size: info.size,
        url,
        proxy_url: url,
      };
      if (info.width !== undefined) att.width = info.width;
      if (info.height !== undefined) att.height = info.height;
      if (info.durationSecs !== undefined) att.duration_secs = info.durationSecs;
      if (info.waveform !== undefined) att.waveform = info.waveform;
      attachments.push(att);
    }
    const embeds: APIEmbed[] =
      shape === 'embed'
        ? [
            {
              type: 'rich' as APIEmbed['type'],
              title: `Link ${n}`,
              description: 'An embedded link',
              url: `https://example.com/${n}`,
            },
          ]
        : [];
    const content =
      shape === 'system' || shape === 'voice' || shape === 'sticker' ? '' : `message ${n} in #${chat.name}`;
    const message: APIMessage = {
      id,
      channel_id: chat.id,
      author: this.authorAt(chat, n),
      content: options.messageContent ? content : '',
      timestamp: new Date(time).toISOString(),
      edited_timestamp: edited ? new Date(Math.min(time + 90_000, this.#data.nowMs)).toISOString() : null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: options.messageContent ? attachments : [],
      embeds: options.messageContent ? embeds : [],
      pinned: false,
      type: shape === 'system' ? MessageType.UserJoin : isReply ? MessageType.Reply : MessageType.Default,
      flags: (shape === 'voice' ? MessageFlags.IsVoiceMessage : 0) as MessageFlags,
    };
    if (isReply) {
      const back = intBetween(1, Math.min(n, 10), seed, chat.index, n, 11);
      message.message_reference = {
        type: MessageReferenceType.Default,
        message_id: this.idAt(chat, n - back),
        channel_id: chat.id,
        guild_id: chat.guildId,
      };
    }
    if (shape === 'sticker') {
      message.sticker_items = [
        {
          id: snowflakeFromParts(1600000000000, n & 0xff),
          name: `sticker-${n % 7}`,
          format_type: StickerFormatType.PNG,
        },
      ];
    }
    return message;
  }

  /** Indices of the messages a page query selects, newest first, as Discord orders them. */
  pageIndices(chat: FakeChat, query: MessagePageQuery): number[] {
    const total = chat.messageCount;
    let from: number;
    let to: number;
    if (query.before !== undefined) {
      to = this.countBelow(chat, query.before);
      from = Math.max(0, to - query.limit);
    } else if (query.after !== undefined) {
      const start = this.countBelow(chat, (BigInt(query.after) + 1n).toString());
      from = start;
      to = Math.min(total, start + query.limit);
    } else if (query.around !== undefined) {
      const center = this.countBelow(chat, query.around);
      from = Math.max(0, center - Math.floor(query.limit / 2));
      to = Math.min(total, from + query.limit);
    } else {
      to = total;
      from = Math.max(0, total - query.limit);
    }
    const out: number[] = [];
    for (let n = to - 1; n >= from; n--) out.push(n);
    return out;
  }

  /** Index of the message with this id, or -1. */
  indexOf(chat: FakeChat, id: string): number {
    const n = this.countBelow(chat, id);
    return n < chat.messageCount && this.idAt(chat, n) === id ? n : -1;
  }
}

/** The user object of member `i`. */
export function fakeUser(id: string, i: number): APIUser {
  return { id, username: `user${i}`, discriminator: '0', global_name: `User ${i}`, avatar: null };
}
