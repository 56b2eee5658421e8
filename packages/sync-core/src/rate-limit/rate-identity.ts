import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChannelId, InstanceRef } from '../contract/channel-plugin.ts';

/**
 * The identity of a platform credential: `<channel>:token:<sha256 of the token, hex>` — the
 * token itself is never stored or logged. Every instance on the same bot token shares it.
 */
export function tokenIdentity(channel: ChannelId | string, token: string): string {
  return `${channel}:token:${createHash('sha256').update(token).digest('hex')}`;
}

/**
 * What the platform limits for an instance: its credential's token when it has one (a Discord
 * bot token, a Slack workspace's bot token), else the account the instance is
 * (`whatsapp:instance:<id>`: one WhatsApp account per instance).
 */
export function rateIdentity(instance: Pick<InstanceRef, 'id' | 'channel' | 'credentials'>): string {
  const token = instance.credentials?.token;
  if (typeof token === 'string' && token.length > 0) return tokenIdentity(instance.channel, token);
  return `${instance.channel}:instance:${instance.id}`;
}

/**
 * The identity of this host's egress IP (`ip:<hostname>`): a Cloudflare ban refuses every token
 * the host uses, so it is paused as one. Set `OMNI_EGRESS_IDENTITY` when several hosts share one
 * address (NAT) so they share the pause too.
 */
export function hostIpIdentity(): string {
  return process.env.OMNI_EGRESS_IDENTITY ?? `ip:${hostname()}`;
}
