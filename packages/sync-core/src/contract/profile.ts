import type { JsonValue } from './ids.ts';

/** The connected account's identity, as the seed's `instances` profile columns hold it. */
export interface ChannelProfile {
  /** Display name (bot username, WhatsApp push name). */
  name: string | null;
  /** Avatar URL (may expire; `profileSyncedAt` tracks staleness). */
  avatarUrl: string | null;
  /** Bio / about / application description. */
  bio: string | null;
  /** Who the account is on the platform (bot id, E.164 phone number). */
  ownerIdentifier: string | null;
  /** Platform extras; the seed gives the Discord and WhatsApp shapes. */
  platformMetadata: Record<string, JsonValue>;
}
