import {
  type ChannelCapabilities,
  type ChannelPlugin,
  type ChannelProfile,
  type ChatInfo,
  type ChatListing,
  chatId,
  type DirectoryPage,
  type FetchHistoryParams,
  type HistoryBatch,
  type MediaDescriptor,
  type NormalizedContact,
  type NormalizedGroup,
  type NormalizedMessage,
  type PageParams,
  type PluginContext,
  RateLimitedError,
} from '../../src/index.ts';
import { msg } from './messages.ts';

/** One chat of the in-memory platform. */
export interface TestChat {
  id: string;
  name?: string;
  readable?: boolean;
  reason?: string;
  messages: NormalizedMessage[];
}

/** Knobs of {@link TestPlugin}. */
export interface TestPluginOptions {
  chats: TestChat[];
  pageSize?: number;
  warnings?: string[];
  /** The first N page requests answer 429 (through `ctx.request`). */
  rateLimitTimes?: number;
  retryAfterMs?: number | null;
  /** Called before each page is served (after the limiter let it through); may throw or block. */
  beforePage?: (chatId: string, pageIndex: number, servedPages: number) => Promise<void> | void;
  media?: Map<string, Uint8Array>;
  contacts?: NormalizedContact[];
  groups?: NormalizedGroup[];
}

/** A whole history of `chats` × `perChat` messages, one minute apart, ending `endMinutesAgo` before now. */
export function dataset(chats: number, perChat: number, endMs: number = Date.now() - 60_000): TestChat[] {
  return Array.from({ length: chats }, (_, c) => ({
    id: `chat-${c + 1}`,
    name: `Chat ${c + 1}`,
    messages: Array.from({ length: perChat }, (_, i) =>
      msg(`chat-${c + 1}`, `m-${c + 1}-${i + 1}`, endMs - (perChat - i) * 60_000),
    ),
  }));
}

/**
 * A channel plugin over an in-memory platform: pages newest → oldest, a numeric offset as the
 * cursor, every page request through `ctx.request`, with hooks to inject 429s, errors and blocks.
 */
export class TestPlugin implements ChannelPlugin {
  readonly id = 'discord' as const;
  readonly capabilities: ChannelCapabilities = {
    parts: ['profile', 'messages', 'contacts', 'groups'],
    onDemandHistory: true,
    mediaNeedsDecryption: false,
    defaultRateLimits: { messagesPerMinute: 50, contactsPerMinute: 100 },
  };
  readonly options: TestPluginOptions;
  /** Every fetchHistory call, in order. */
  readonly fetchCalls: FetchHistoryParams[] = [];
  servedPages = 0;
  requests = 0;
  #rateLimitLeft: number;

  constructor(options: TestPluginOptions) {
    this.options = options;
    this.#rateLimitLeft = options.rateLimitTimes ?? 0;
  }

  async getProfile(ctx: PluginContext): Promise<ChannelProfile> {
    return ctx.request('profile', async () => ({
      name: 'Test Bot',
      avatarUrl: 'https://cdn.example/avatar.png',
      bio: 'a bot',
      ownerIdentifier: 'bot-123',
      platformMetadata: { botId: 'bot-123', guildCount: 2 },
    }));
  }

  async listChats(): Promise<ChatListing> {
    const chats: ChatInfo[] = this.options.chats.map((c) => ({
      id: chatId(c.id),
      name: c.name ?? null,
      kind: 'channel',
      readable: c.readable ?? true,
      ...(c.reason ? { reason: c.reason } : {}),
    }));
    return { chats, warnings: this.options.warnings ?? [] };
  }

  async *fetchHistory(ctx: PluginContext, params: FetchHistoryParams): AsyncIterable<HistoryBatch> {
    this.fetchCalls.push(params);
    const chat = this.options.chats.find((c) => c.id === params.chatId);
    if (!chat) return;
    const pageSize = this.options.pageSize ?? 10;
    const all = [...chat.messages].sort((a, b) => a.timestamp - b.timestamp);
    const inWindow = all.filter(
      (m) => m.timestamp < params.until && (params.since === null || m.timestamp >= params.since),
    );
    let offset = typeof params.cursor === 'number' ? params.cursor : 0;
    let page = 0;
    while (offset < inWindow.length) {
      const end = inWindow.length - offset;
      const start = Math.max(0, end - pageSize);
      const messages = await ctx.request('messages', async () => {
        this.requests += 1;
        if (this.#rateLimitLeft > 0) {
          this.#rateLimitLeft -= 1;
          throw new RateLimitedError('429 Too Many Requests', {
            retryAfterMs: this.options.retryAfterMs ?? null,
          });
        }
        return inWindow.slice(start, end);
      });
      await this.options.beforePage?.(chat.id, page, this.servedPages);
      this.servedPages += 1;
      page += 1;
      offset += messages.length;
      const hasMore = offset < inWindow.length;
      const oldest = all[0];
      const exhausted =
        !hasMore && params.since !== null && oldest !== undefined && oldest.timestamp >= params.since;
      yield { messages, cursor: offset, hasMore, ...(exhausted ? { exhausted: true } : {}) };
    }
  }

  async downloadMedia(
    ctx: PluginContext,
    media: MediaDescriptor,
    _message: NormalizedMessage,
  ): Promise<ReadableStream<Uint8Array>> {
    return ctx.request('media', async () => {
      const bytes = media.url ? this.options.media?.get(media.url) : undefined;
      if (!bytes) throw new Error(`no media at ${media.url}`);
      return new Blob([bytes]).stream();
    });
  }

  async *fetchContacts(
    _ctx: PluginContext,
    _params: PageParams,
  ): AsyncIterable<DirectoryPage<NormalizedContact>> {
    yield { items: this.options.contacts ?? [], cursor: null, hasMore: false };
  }

  async *fetchGroups(
    _ctx: PluginContext,
    _params: PageParams,
  ): AsyncIterable<DirectoryPage<NormalizedGroup>> {
    yield { items: this.options.groups ?? [], cursor: null, hasMore: false };
  }
}
