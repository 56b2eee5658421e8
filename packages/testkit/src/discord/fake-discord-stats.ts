/** What the fake counted. Tests read it to assert pacing and 429s. */
export class FakeDiscordStats {
  /** API requests received (CDN downloads excluded). */
  requests = 0;
  /** API requests per route template (`GET /channels/:id/messages`). */
  readonly byRoute = new Map<string, number>();
  /** Answers per status code. */
  readonly byStatus = new Map<number, number>();
  /** Every 429 sent, however caused. */
  status429 = 0;
  /** 429s caused by the real limits (route bucket or global), not by fault injection. */
  limit429 = 0;
  /** 429s from the global limit. */
  global429 = 0;
  /** Cloudflare HTML 429s sent during a ban ({@link FakeDiscord.banFor}). */
  banned429 = 0;
  /** CDN attachment requests, and those refused because the URL had expired. */
  cdnRequests = 0;
  cdnExpired = 0;
  /** `POST /attachments/refresh-urls` calls. */
  refreshCalls = 0;
  /**
   * The most requests seen in any sliding window of the per-channel message limit's length, on
   * one channel and token (refused ones included): never above the limit for a client that obeys.
   */
  maxRouteWindowRequests = 0;
  /** The most requests of one token seen in any sliding window of the global limit's length. */
  maxGlobalWindowRequests = 0;
  readonly #recent = new Map<string, number[]>();
  /** History pages answered (`GET /channels/:id/messages`, any status but 404/403), per channel id. */
  readonly historyPages = new Map<string, number>();

  /** Counts a history page asked of one channel. */
  historyPage(channelId: string): void {
    this.historyPages.set(channelId, (this.historyPages.get(channelId) ?? 0) + 1);
  }

  /** History pages asked of one channel, or of all channels. */
  pages(channelId?: string): number {
    if (channelId !== undefined) return this.historyPages.get(channelId) ?? 0;
    let n = 0;
    for (const v of this.historyPages.values()) n += v;
    return n;
  }

  /** Counts an answered API request. */
  record(route: string, status: number): void {
    this.requests++;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (status === 429) this.status429++;
  }

  /**
   * Records a request arriving at `atMs` on `key` and returns how many arrived on it within the
   * last `windowMs` (this one included).
   */
  observe(key: string, atMs: number, windowMs: number): number {
    let times = this.#recent.get(key);
    if (!times) {
      times = [];
      this.#recent.set(key, times);
    }
    times.push(atMs);
    let drop = 0;
    while (drop < times.length && times[drop]! <= atMs - windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    return times.length;
  }

  /** Requests to one route template. */
  route(route: string): number {
    return this.byRoute.get(route) ?? 0;
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.requests = 0;
    this.byRoute.clear();
    this.byStatus.clear();
    this.status429 = 0;
    this.limit429 = 0;
    this.global429 = 0;
    this.banned429 = 0;
    this.cdnRequests = 0;
    this.cdnExpired = 0;
    this.refreshCalls = 0;
    this.maxRouteWindowRequests = 0;
    this.maxGlobalWindowRequests = 0;
    this.#recent.clear();
    this.historyPages.clear();
  }
}
