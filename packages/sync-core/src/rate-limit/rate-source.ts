import type { SettingsService } from '@omni/db';
import type { ChannelId, RequestKind } from '../contract/channel-plugin.ts';

/** Platform names as the settings keys spell them. */
export type RatePlatform = 'discord' | 'whatsapp' | 'slack';

/** The settings platform of a channel. */
export function ratePlatformOf(channel: ChannelId): RatePlatform {
  return channel === 'whatsapp-baileys' ? 'whatsapp' : channel;
}

/** Where the limiter reads its rates; asked on every request so changes apply at once. */
export interface RateSource {
  /** Requests per minute for (platform, kind); `null` = no token bucket for this kind. */
  perMinute(platform: RatePlatform, kind: RequestKind): Promise<number | null>;
}

/**
 * Rates from `SettingsService`: `sync.<platform>.messagesPerMinute` for `messages`,
 * `sync.<platform>.contactsPerMinute` for `contacts` and `profile`. `media` downloads have no
 * bucket (they hit CDNs, not the API) but still obey cooldowns and retries.
 */
export function settingsRateSource(settings: Pick<SettingsService, 'get'>): RateSource {
  return {
    async perMinute(platform, kind) {
      if (kind === 'messages') return settings.get(`sync.${platform}.messagesPerMinute`);
      if (kind === 'contacts' || kind === 'profile')
        return settings.get(`sync.${platform}.contactsPerMinute`);
      return null;
    },
  };
}

/** Fixed rates, for tests and embedding without a database. */
export function fixedRateSource(rates: Partial<Record<RequestKind, number | null>>): RateSource {
  return { perMinute: async (_platform, kind) => rates[kind] ?? null };
}
