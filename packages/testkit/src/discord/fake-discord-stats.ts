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
  /** CDN attachment requests, and those refused because the URL had expired. */
  cdnRequests = 0;
  cdnExpired = 0;
  /** `POST /attachments/refresh-urls` calls. */
  refreshCalls = 0;

  /** Counts an answered API request. */
  record(route: string, status: number): void {
    this.requests++;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (status === 429) this.status429++;
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
    this.cdnRequests = 0;
    this.cdnExpired = 0;
    this.refreshCalls = 0;
  }
}
