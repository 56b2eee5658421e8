import type { PluginContext } from '@omni/sync-core';
import type { RESTAPIPartialCurrentUserGuild } from 'discord-api-types/v10';
import type { DiscordRestClient } from './discord-rest-client.ts';

/** Every guild the bot is in, paging `GET /users/@me/guilds` 200 at a time. */
export async function listGuilds(
  ctx: PluginContext,
  api: DiscordRestClient,
  kind: 'messages' | 'contacts' | 'profile',
): Promise<RESTAPIPartialCurrentUserGuild[]> {
  const out: RESTAPIPartialCurrentUserGuild[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ctx.request(kind, () =>
      api.get<RESTAPIPartialCurrentUserGuild[]>('/users/@me/guilds', {
        query: { limit: 200, after, with_counts: true },
        signal: ctx.signal,
      }),
    );
    out.push(...page);
    if (page.length < 200) return out;
    after = page.at(-1)!.id;
  }
}
