import type { JsonValue, NormalizedGroup, NormalizedParticipant } from '@omni/sync-core';
import type { GroupMetadata } from '@whiskeysockets/baileys';
import type { IdentityMap } from '../identity/identity-map.ts';
import { normalizeJid } from '../identity/jid.ts';
import { toJsonSafe } from './json-safe.ts';

/**
 * Group metadata from `groupFetchAllParticipating` as a {@link NormalizedGroup}: subject,
 * description, owner, creation (UTC ms), participants with roles (`superadmin` = creator,
 * `admin`, `member`), announce/restrict settings. Participant ids are canonical.
 */
export function normalizeGroup(group: GroupMetadata, identity: IdentityMap): NormalizedGroup {
  for (const p of group.participants) {
    identity.linkPair(p.id, p.phoneNumber);
    identity.linkPair(p.id, p.lid);
  }
  identity.linkPair(group.owner, group.ownerPn);
  const participants: NormalizedParticipant[] = group.participants.map((p) => ({
    id: identity.canonical(p.id),
    role:
      p.admin === 'superadmin' || p.isSuperAdmin
        ? 'superadmin'
        : p.admin === 'admin' || p.isAdmin
          ? 'admin'
          : 'member',
  }));
  const metadata: Record<string, JsonValue> = {
    owner: group.owner ? identity.canonical(group.owner) : null,
    creation: typeof group.creation === 'number' ? group.creation * 1000 : null,
    announce: group.announce === true,
    restrict: group.restrict === true,
    isCommunity: group.isCommunity === true,
    isCommunityAnnounce: group.isCommunityAnnounce === true,
    linkedParent: group.linkedParent ?? null,
    subjectOwner: group.subjectOwner ? identity.canonical(group.subjectOwner) : null,
    subjectTime: typeof group.subjectTime === 'number' ? group.subjectTime * 1000 : null,
    memberAddMode: group.memberAddMode ?? null,
    joinApprovalMode: group.joinApprovalMode ?? null,
    ephemeralDuration: group.ephemeralDuration ?? null,
    addressingMode: toJsonSafe(group.addressingMode),
  };
  return {
    externalId: normalizeJid(group.id),
    name: group.subject ?? null,
    description: group.desc ?? null,
    memberCount: group.size ?? group.participants.length,
    participants,
    metadata,
  };
}
