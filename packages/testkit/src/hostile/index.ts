/**
 * Hostile media for tests of DESIGN.md invariant 11 ("everything fetched is hostile"): an internal
 * endpoint that counts connections, a media server under an attacker's control (files, redirect
 * chains, tarpits, stalls, endless bodies), and the catalogue of media URLs a hostile Discord
 * server or WhatsApp contact can send, each with the refusal reason it must be counted under.
 *
 * @example
 * ```ts
 * const internal = await InternalEndpoint.start();
 * const server = await HostileMediaServer.start();
 * const fetcher = new MediaFetcher({ allowOrigins: [server.origin], resolve: mapResolver(DISCORD_REBOUND_HOSTS) });
 * for (const c of hostileMediaCases({ internal, server }, 'discord')) …
 * expect(internal.connections).toBe(0);
 * ```
 */
export {
  DISCORD_REBOUND_HOSTS,
  HOSTILE_MARKUP,
  type HostileExpectation,
  type HostileMediaCase,
  hostileMediaCases,
  mapResolver,
  WHATSAPP_REBOUND_HOSTS,
} from './hostile-media-cases.ts';
export { HostileMediaServer, type HostileMediaServerOptions } from './hostile-media-server.ts';
export { InternalEndpoint } from './internal-endpoint.ts';
