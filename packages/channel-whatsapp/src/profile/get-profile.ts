import type { ChannelProfile, JsonValue, PluginContext } from '@omni/sync-core';
import { normalizeJid, phoneNumberOf } from '../identity/jid.ts';
import { toJsonSafe } from '../normalize/json-safe.ts';
import { isRateOverlimit, translateSocketError } from '../socket/socket-errors.ts';
import type { WhatsAppSocket } from '../socket/whatsapp-socket.ts';

/**
 * One profile request through the engine's pacing: a rate-overlimit refusal is retried by the
 * engine; any other failure (no picture, privacy settings, personal account) means "not available".
 */
function optional<T>(ctx: PluginContext, what: string, fn: () => Promise<T>): Promise<T | null> {
  return ctx.request('profile', () =>
    fn().catch((error: unknown) => {
      if (isRateOverlimit(error)) throw translateSocketError(error, `the ${what} request`);
      ctx.log.debug({ err: error }, `whatsapp ${what} unavailable`);
      return null;
    }),
  );
}

/**
 * The linked account's profile: push name, avatar (`profilePictureUrl(jid,'image')`), bio
 * (`fetchStatus`) and the seed's metadata (phoneNumber E.164, pushName, isBusiness, business
 * name/description/category/hours, isVerified) via `getBusinessProfile`. Absent avatar, bio or
 * business profile (privacy settings, personal account) give `null`/`false`, not an error.
 */
export async function getWhatsAppProfile(
  ctx: PluginContext,
  socket: WhatsAppSocket,
): Promise<ChannelProfile> {
  const user = socket.user;
  if (!user) return { name: null, avatarUrl: null, bio: null, ownerIdentifier: null, platformMetadata: {} };
  const jid = normalizeJid(user.id);
  const avatarUrl = await optional(ctx, 'avatar', () => socket.profilePictureUrl(jid, 'image'));
  const statuses = await optional(ctx, 'status', () => socket.fetchStatus(jid));
  const status = statuses?.[0]?.status as { status?: unknown } | undefined;
  const bio = typeof status?.status === 'string' && status.status !== '' ? status.status : null;
  const business = await optional(ctx, 'business profile', () => socket.getBusinessProfile(jid));
  const phoneNumber = phoneNumberOf(jid);
  const pushName = user.name ?? user.notify ?? null;
  const metadata: Record<string, JsonValue> = {
    phoneNumber,
    pushName,
    isBusiness: !!business,
  };
  if (business) {
    metadata.businessName = user.verifiedName ?? pushName;
    metadata.businessDescription = business.description ?? null;
    metadata.businessCategory = business.category ?? null;
    metadata.businessHours = toJsonSafe(business.business_hours ?? null);
    metadata.isVerified = !!user.verifiedName;
    if (business.email) metadata.businessEmail = business.email;
    if (business.website?.length) metadata.businessWebsites = business.website;
    if (business.address) metadata.businessAddress = business.address;
  } else {
    metadata.isVerified = false;
  }
  if (user.lid) metadata.lid = normalizeJid(user.lid);
  return {
    name: pushName,
    avatarUrl: avatarUrl ?? null,
    bio,
    ownerIdentifier: phoneNumber,
    platformMetadata: metadata,
  };
}
