import type { ChannelProfile, JsonValue, PluginContext } from '@omni/sync-core';
import { normalizeJid, phoneNumberOf } from '../identity/jid.ts';
import { toJsonSafe } from '../normalize/json-safe.ts';
import type { WhatsAppSocket } from '../socket/whatsapp-socket.ts';

async function optional<T>(fn: () => Promise<T>, ctx: PluginContext, what: string): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    ctx.log.debug({ err: error }, `whatsapp ${what} unavailable`);
    return null;
  }
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
  const avatarUrl = await optional(
    () => ctx.request('profile', () => socket.profilePictureUrl(jid, 'image')),
    ctx,
    'avatar',
  );
  const statuses = await optional(() => ctx.request('profile', () => socket.fetchStatus(jid)), ctx, 'status');
  const status = statuses?.[0]?.status as { status?: unknown } | undefined;
  const bio = typeof status?.status === 'string' && status.status !== '' ? status.status : null;
  const business = await optional(
    () => ctx.request('profile', () => socket.getBusinessProfile(jid)),
    ctx,
    'business profile',
  );
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
