import { externalUserId, type JsonValue, type NormalizedContact } from '@omni/sync-core';
import type { Contact } from '@whiskeysockets/baileys';
import type { IdentityMap } from '../identity/identity-map.ts';
import { isGroupJid, isLidJid, isPnJid, normalizeJid, phoneNumberOf } from '../identity/jid.ts';

/**
 * A Baileys contact (from `contacts.upsert`/`contacts.update` or a history chunk) as a
 * {@link NormalizedContact}, keyed canonically; `null` for groups, broadcasts and newsletters.
 * Learns the LID ↔ phone pair the contact carries.
 */
export function normalizeContact(contact: Partial<Contact>, identity: IdentityMap): NormalizedContact | null {
  if (!contact.id || isGroupJid(contact.id) || !(isLidJid(contact.id) || isPnJid(contact.id))) return null;
  const id = normalizeJid(contact.id);
  const lidIn = contact.lid ?? (isLidJid(id) ? id : null);
  const pnIn = contact.phoneNumber ?? (isPnJid(id) ? id : null);
  identity.link(lidIn, pnIn);
  const canonical = identity.canonical(id);
  const lid = isLidJid(canonical) ? canonical : identity.lidOf(canonical);
  const pn = isPnJid(canonical) ? canonical : identity.pnOf(canonical);
  const metadata: Record<string, JsonValue> = { jid: canonical };
  if (pn) metadata.pnJid = pn;
  if (contact.username) metadata.username = contact.username;
  if (contact.status) metadata.status = contact.status;
  return {
    externalId: externalUserId(canonical),
    name: contact.name ?? null,
    pushName: contact.notify ?? null,
    verifiedName: contact.verifiedName ?? null,
    phoneNumber: phoneNumberOf(pn),
    lid: lid ?? null,
    avatarUrl: typeof contact.imgUrl === 'string' && contact.imgUrl !== 'changed' ? contact.imgUrl : null,
    metadata,
  };
}

/** Merges a newer partial view of a contact into what is known (absent fields keep their value). */
export function mergeContact(
  known: NormalizedContact | undefined,
  next: NormalizedContact,
): NormalizedContact {
  if (!known) return next;
  return {
    externalId: next.externalId,
    name: next.name ?? known.name,
    pushName: next.pushName ?? known.pushName ?? null,
    verifiedName: next.verifiedName ?? known.verifiedName ?? null,
    phoneNumber: next.phoneNumber ?? known.phoneNumber ?? null,
    lid: next.lid ?? known.lid ?? null,
    avatarUrl: next.avatarUrl ?? known.avatarUrl ?? null,
    metadata: { ...known.metadata, ...next.metadata },
  };
}
