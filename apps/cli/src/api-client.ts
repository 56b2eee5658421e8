/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Base URL of the service, without `/api/v2`. @defaultValue `http://localhost:8881` */
  baseUrl: string;
  /** Value of the `x-api-key` header. */
  apiKey: string | undefined;
  /** Injected fetch (tests). @defaultValue global fetch */
  fetch?: typeof fetch;
}

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** Thin typed access to omni-sync's REST API (`/api/v2`). */
export class ApiClient {
  readonly #options: ApiClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  #url(path: string): string {
    return `${this.#options.baseUrl.replace(/\/$/, '')}/api/v2${path}`;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.#options.apiKey ? { 'x-api-key': this.#options.apiKey } : {}), ...extra };
  }

  /** Calls a route and returns its `data` (or the whole body for lists). */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#fetch(this.#url(path), {
      method,
      headers: this.#headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new ApiError(
        res.status,
        'BAD_RESPONSE',
        `unexpected answer (${res.status}): ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)
        ?.error;
      throw new ApiError(
        res.status,
        error?.code ?? `HTTP_${res.status}`,
        error?.message ?? res.statusText,
        error?.details,
      );
    }
    const envelope = json as { data?: T; items?: unknown };
    return (envelope && 'data' in envelope ? envelope.data : envelope) as T;
  }

  /** Reads a Server-Sent Events stream until it ends or `signal` aborts. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await this.#fetch(this.#url(path), {
      headers: this.#headers({ accept: 'text/event-stream' }),
      ...(signal ? { signal } : {}),
    });
    if (!res.ok || !res.body)
      throw new ApiError(res.status, `HTTP_${res.status}`, `cannot follow events (${res.status})`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const parsed = parseSseBlock(block);
        if (parsed) yield parsed;
        end = buffer.indexOf('\n\n');
      }
    }
  }
}

/** Parses one SSE block (`event:` / `data:` lines); comments and empty blocks give `null`. */
export function parseSseBlock(block: string): SseEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  const text = data.join('\n');
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}
