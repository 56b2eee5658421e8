/** Process configuration read from the environment. */
export interface ApiConfig {
  /** `PORT`, default 8881. */
  port: number;
  /** `HOST`, default `0.0.0.0`. */
  host: string;
  /** `DATA_DIR`, default `./data`: PGlite, generated keys. */
  dataDir: string;
  /** `DATABASE_URL`: Postgres; absent → embedded PGlite. */
  databaseUrl: string | undefined;
  /** `NATS_URL`: JetStream; absent → in-process queue and worker in this process. */
  natsUrl: string | undefined;
  /** `API_KEY`; absent → generated into `$DATA_DIR/api-key`. */
  apiKey: string | undefined;
  /** `LOG_LEVEL`, default `info`. */
  logLevel: string;
  /** `WORKER_CONCURRENCY` of the embedded worker, default 4. */
  workerConcurrency: number;
  /**
   * `API_PROCESSES`, default 1: HTTP processes sharing the port (node:cluster); more than one
   * needs `DATABASE_URL` and `NATS_URL`.
   */
  processes: number;
  /** `SSE_MAX_STREAMS_PER_INSTANCE`: job event streams open at once per instance, default 50. */
  sseMaxStreamsPerInstance: number;
  /** `SSE_MAX_STREAMS`: job event streams open at once in this process, default 1000. */
  sseMaxStreams: number;
  /** `CORS_ORIGINS`, comma-separated browser origins allowed to call the API; default none (no CORS headers). */
  corsOrigins: string[];
  /** `PUBLIC_URL`: the origin clients reach the API at, for absolute media links. */
  publicUrl: string | undefined;
  /**
   * `NATIVE_MEDIA`, default `true`: plain media answers go out on Bun's own server with
   * `sendfile(2)`; `false` has Fastify answer every media request (for clients or proxies that
   * pipeline requests, which Bun's routes do not keep in order behind a pending answer).
   */
  nativeMedia: boolean;
  /**
   * `MESSAGE_PAGE_CACHE_MB`, default 64: MiB of message pages (`GET /chats/:id/messages`) this
   * process keeps as answered until a change of what they show commits; 0 keeps none.
   */
  messagePageCacheMb: number;
}

const bool = (text: string | undefined, fallback: boolean, name: string): boolean => {
  if (text === undefined || text === '') return fallback;
  if (text === 'true' || text === 'false') return text === 'true';
  throw new Error(`${name} must be true or false, got "${text}"`);
};

const int = (text: string | undefined, fallback: number, name: string): number => {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${text}"`);
  return n;
};

/** `PUBLIC_URL` as an origin (`scheme://host[:port]`); anything else is a start-up error. */
function publicOrigin(text: string | undefined): string | undefined {
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`PUBLIC_URL must be an http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`PUBLIC_URL must be http(s), got "${text}"`);
  return url.origin;
}

/** Reads {@link ApiConfig} from `env`. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return {
    port: int(env.PORT, 8881, 'PORT'),
    host: env.HOST || '0.0.0.0',
    dataDir: env.DATA_DIR || './data',
    databaseUrl: env.DATABASE_URL || undefined,
    natsUrl: env.NATS_URL || undefined,
    apiKey: env.API_KEY || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    workerConcurrency: Math.max(1, int(env.WORKER_CONCURRENCY, 4, 'WORKER_CONCURRENCY')),
    processes: Math.max(1, int(env.API_PROCESSES, 1, 'API_PROCESSES')),
    sseMaxStreamsPerInstance: Math.max(
      1,
      int(env.SSE_MAX_STREAMS_PER_INSTANCE, 50, 'SSE_MAX_STREAMS_PER_INSTANCE'),
    ),
    sseMaxStreams: Math.max(1, int(env.SSE_MAX_STREAMS, 1000, 'SSE_MAX_STREAMS')),
    publicUrl: publicOrigin(env.PUBLIC_URL),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
    nativeMedia: bool(env.NATIVE_MEDIA, true, 'NATIVE_MEDIA'),
    messagePageCacheMb: int(env.MESSAGE_PAGE_CACHE_MB, 64, 'MESSAGE_PAGE_CACHE_MB'),
  };
}
