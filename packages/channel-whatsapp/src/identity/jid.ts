/** Platform id forms of WhatsApp: `123@s.whatsapp.net` (phone), `456@lid`, `789-1@g.us` (group). */

const CHAT_JID =
  /^[0-9A-Za-z._:-]{1,64}@(?:s\.whatsapp\.net|c\.us|g\.us|lid|hosted|hosted\.lid|broadcast|newsletter)$/;

/**
 * True for a JID a chat can have: a user (phone number or LID, with an optional device), a group,
 * a broadcast list or a newsletter — `user@server` of plain characters and a known server.
 */
export function isChatJid(jid: unknown): jid is string {
  return typeof jid === 'string' && CHAT_JID.test(jid);
}

/** True for a LID user id (`…@lid`, also hosted `…@hosted.lid`). */
export function isLidJid(jid: string | null | undefined): jid is string {
  return !!jid && (jid.endsWith('@lid') || jid.endsWith('@hosted.lid'));
}

/** True for a phone-number user id (`…@s.whatsapp.net`, also hosted and legacy `@c.us`). */
export function isPnJid(jid: string | null | undefined): jid is string {
  return !!jid && (jid.endsWith('@s.whatsapp.net') || jid.endsWith('@hosted') || jid.endsWith('@c.us'));
}

/** True for a group id. */
export function isGroupJid(jid: string | null | undefined): jid is string {
  return !!jid && jid.endsWith('@g.us');
}

/**
 * The user-level form of a JID: device and agent suffixes dropped (`123:4@s.whatsapp.net` →
 * `123@s.whatsapp.net`), `@c.us` → `@s.whatsapp.net`.
 */
export function normalizeJid(jid: string): string {
  const at = jid.indexOf('@');
  if (at < 0) return jid;
  // Most ids are user-level already (no device, no agent, not `@c.us`): returned as they are, not
  // rebuilt (this runs several times per message of every history chunk).
  const colon = jid.indexOf(':');
  const underscore = jid.indexOf('_');
  if (
    (colon < 0 || colon > at) &&
    (underscore < 0 || underscore > at || (at === jid.length - 5 && jid.endsWith('@g.us'))) &&
    !jid.endsWith('@c.us')
  )
    return jid;
  let user = jid.slice(0, at);
  let server = jid.slice(at + 1);
  if (server === 'c.us') server = 's.whatsapp.net';
  const userColon = user.indexOf(':');
  if (userColon >= 0) user = user.slice(0, userColon);
  const userUnderscore = user.indexOf('_');
  if (userUnderscore >= 0 && server !== 'g.us') user = user.slice(0, userUnderscore);
  return `${user}@${server}`;
}

/** `+` and the digits of a phone-number JID (E.164), or `null` for other JIDs. */
export function phoneNumberOf(jid: string | null | undefined): string | null {
  if (!isPnJid(jid)) return null;
  const user = normalizeJid(jid).split('@')[0] ?? '';
  return /^\d{5,16}$/.test(user) ? `+${user}` : null;
}

/** The chat kind of a JID as `ChatInfo.kind` names it. */
export function chatKindOf(jid: string): string {
  if (jid.endsWith('@g.us')) return 'group';
  if (jid.endsWith('@broadcast')) return 'broadcast';
  if (jid.endsWith('@newsletter')) return 'channel';
  return 'dm';
}
