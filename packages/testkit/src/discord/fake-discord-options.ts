import { type APIAttachment, ApplicationFlags } from 'discord-api-types/v10';
import type { FakeDiscordDataOptions } from './dataset-spec.ts';
import type { DiscordDataset } from './discord-dataset.ts';
import { DEFAULT_BOT_PERMISSIONS } from './payloads.ts';
import type { RateLimitRule } from './rate-limit-buckets.ts';

/** How the fake Discord behaves. Every rate is configurable so tests can scale windows down. */
export interface FakeDiscordOptions {
  /** The world to serve: a spec (built on start) or a ready dataset. */
  data: FakeDiscordDataOptions | DiscordDataset;
  /** Bot token accepted in `Authorization: Bot <token>`; anything else is 401. @defaultValue 'fake-bot-token' */
  token?: string;
  /**
   * Further bot tokens accepted, each with limits of its own (Discord's limits belong to the
   * token), for many bots on one fake. @defaultValue []
   */
  extraTokens?: readonly string[];
  /** Port to listen on (0 = any free port). @defaultValue 0 */
  port?: number;
  /** The per-channel limit on message routes (Discord: 5 per 5 s). @defaultValue { limit: 5, windowMs: 5000 } */
  messageRateLimit?: RateLimitRule;
  /** Global limit per token (Discord: 50 per second). @defaultValue { limit: 50, windowMs: 1000 } */
  globalRateLimit?: RateLimitRule;
  /** Limit of every other route, per route and major parameter. @defaultValue { limit: 10, windowMs: 1000 } */
  routeRateLimit?: RateLimitRule;
  /**
   * When set, message-route headers advertise this limit (and a matching remaining count) while the
   * hidden `messageRateLimit` is enforced, as Discord has been seen to do. `null` = honest headers.
   * @defaultValue null
   */
  advertisedMessageLimit?: number | null;
  /** `flags` of the application (Message Content / Server Members intents). @defaultValue both granted */
  applicationFlags?: number;
  /**
   * Whether `GET /guilds/:id/members` is allowed (the Server Members intent). `false` answers 403.
   * @defaultValue true when `applicationFlags` grants GatewayGuildMembers(Limited)
   */
  membersIntent?: boolean;
  /** The bot's base guild permissions. @defaultValue View Channel, Read Message History, Manage Threads */
  botPermissions?: bigint;
  /** Lifetime of signed attachment URLs, ms. @defaultValue 86_400_000 */
  attachmentTtlMs?: number;
  /** Added latency of every answer, ms. @defaultValue 0 */
  latencyMs?: number;
  /**
   * Rewrites each attachment as a message is served: what whoever posted it controls (`url`,
   * `proxy_url`, `content_type`, `size`, `filename`). `n` is the message's index in its chat.
   * @defaultValue null (attachments as generated, served by the fake itself)
   */
  attachmentRewrite?:
    | ((attachment: APIAttachment, where: { chatId: string; n: number }) => APIAttachment)
    | null;
  /**
   * Chooses what `POST /attachments/refresh-urls` answers for a URL (a hostile or compromised
   * API); `null` for no answer. With it, every URL asked about is answered, signed by the fake or not.
   * @defaultValue null (URLs the fake signed are re-signed; others get no answer)
   */
  refreshRewrite?: ((original: string) => string | null) | null;
}

/** Defaults of {@link FakeDiscordOptions} (except `data`). */
export const DEFAULT_FAKE_DISCORD_OPTIONS = {
  token: 'fake-bot-token',
  extraTokens: [],
  port: 0,
  messageRateLimit: { limit: 5, windowMs: 5000 },
  globalRateLimit: { limit: 50, windowMs: 1000 },
  routeRateLimit: { limit: 10, windowMs: 1000 },
  advertisedMessageLimit: null,
  applicationFlags: ApplicationFlags.GatewayMessageContent | ApplicationFlags.GatewayGuildMembers,
  membersIntent: true,
  botPermissions: DEFAULT_BOT_PERMISSIONS,
  attachmentTtlMs: 86_400_000,
  latencyMs: 0,
  attachmentRewrite: null,
  refreshRewrite: null,
} satisfies Required<Omit<FakeDiscordOptions, 'data'>>;
