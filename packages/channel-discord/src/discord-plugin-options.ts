import { hostIpIdentity } from '@omni/sync-core';
import { DISCORD_MEDIA_HOSTS } from './download-media.ts';

/** Options of {@link createDiscordPlugin}. Every rate is in the unit its name says. */
export interface DiscordPluginOptions {
  /**
   * Base URL of the REST API, as discord.js's `api` option (`http://127.0.0.1:PORT/api` for a
   * fake or a REST proxy). @defaultValue `process.env.DISCORD_API_URL` ?? 'https://discord.com/api'
   */
  api: string;
  /** Message-history requests allowed per channel per window (Discord's hidden sublimit). @defaultValue 5 */
  historyRequestsPerWindow: number;
  /** The per-channel history window, ms. @defaultValue 5000 */
  historyWindowMs: number;
  /** Requests allowed per global window for the whole bot token. @defaultValue 50 */
  globalRequestsPerWindow: number;
  /** The global window, ms. @defaultValue 1000 */
  globalWindowMs: number;
  /** Extra wait added to every window, ms, against timer imprecision. @defaultValue 2 */
  pacingMarginMs: number;
  /** Messages per history page (Discord's maximum is 100). @defaultValue 100 */
  pageSize: number;
  /** Members per `GET /guilds/:id/members` page (maximum 1000). @defaultValue 1000 */
  membersPageSize: number;
  /** Request timeout, ms (a timeout becomes a `TransientError`). @defaultValue 15000 */
  requestTimeoutMs: number;
  /**
   * After a Cloudflare HTML 429 (an IP-wide ban): wait before the first probe, ms. Every token of
   * the host (`egressIdentity`) is paused in the shared budget; then one request at a time probes,
   * each refused probe doubling the wait (30 s, 1, 2, 4 … min), the first answered one lifting the
   * ban everywhere. @defaultValue 30000
   */
  cloudflareProbeMs: number;
  /** Longest wait between two probes of a Cloudflare ban, ms. @defaultValue 960000 (16 min) */
  cloudflareProbeMaxMs: number;
  /**
   * The budget identity of this host's IP, paused as a whole by a Cloudflare ban.
   * @defaultValue `OMNI_EGRESS_IDENTITY` ?? `ip:<hostname>`
   */
  egressIdentity: string;
  /** Cooldown asked after a 429 that states no wait at all, ms. @defaultValue 5000 */
  unknownRetryAfterMs: number;
  /** Also list private archived threads (needs MANAGE_THREADS; a refusal becomes a warning). @defaultValue true */
  includePrivateThreads: boolean;
  /**
   * Hosts attachments are downloaded from (exact names or `*.suffix`), checked by the engine's
   * media fetcher with every other rule (https, public addresses, redirects, time, size).
   * Attachment URLs come from whoever posted the message; anything else is refused as `host`.
   * @defaultValue DISCORD_MEDIA_HOSTS (`cdn.discordapp.com`, `media.discordapp.net`, `images-ext-{1,2}.discordapp.net`)
   */
  mediaHosts: readonly string[];
}

/** Defaults of {@link DiscordPluginOptions}: Discord's documented limits. */
export const DEFAULT_DISCORD_PLUGIN_OPTIONS = {
  api: 'https://discord.com/api',
  historyRequestsPerWindow: 5,
  historyWindowMs: 5000,
  globalRequestsPerWindow: 50,
  globalWindowMs: 1000,
  pacingMarginMs: 2,
  pageSize: 100,
  membersPageSize: 1000,
  requestTimeoutMs: 15_000,
  cloudflareProbeMs: 30_000,
  cloudflareProbeMaxMs: 960_000,
  egressIdentity: 'ip:localhost',
  unknownRetryAfterMs: 5000,
  includePrivateThreads: true,
  mediaHosts: DISCORD_MEDIA_HOSTS,
} as const satisfies Required<DiscordPluginOptions>;

/** Resolves user options over the defaults, `DISCORD_API_URL` and the host's egress identity. */
export function resolveDiscordPluginOptions(
  options: Partial<DiscordPluginOptions> = {},
): DiscordPluginOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return {
    ...DEFAULT_DISCORD_PLUGIN_OPTIONS,
    api: process.env.DISCORD_API_URL ?? DEFAULT_DISCORD_PLUGIN_OPTIONS.api,
    egressIdentity: hostIpIdentity(),
    ...defined,
  };
}
