/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /**
   * Smallest pooled buffer, bytes; smaller requests get a fresh buffer of their own.
   * @defaultValue 65_536
   */
  minBytes?: number;
  /**
   * Largest buffer lent, bytes; larger requests are refused (`null`).
   * @defaultValue 8_388_608
   */
  maxBytes?: number;
  /**
   * Bytes lent at once (pooled and fresh); past it `acquire` refuses, so a burst of large
   * bodies falls back to streaming instead of growing memory.
   * @defaultValue 67_108_864
   */
  maxLentBytes?: number;
  /**
   * Bytes of returned buffers kept for reuse; the rest is left to the garbage collector.
   * @defaultValue 33_554_432
   */
  maxIdleBytes?: number;
}

/** Defaults of {@link BufferPoolOptions}. */
export const DEFAULT_BUFFER_POOL_OPTIONS = {
  minBytes: 64 * 1024,
  maxBytes: 8 * 1024 * 1024,
  maxLentBytes: 64 * 1024 * 1024,
  maxIdleBytes: 32 * 1024 * 1024,
} satisfies Required<BufferPoolOptions>;

/** A buffer lent by {@link BufferPool}: `bytes` has exactly the length asked for. */
export interface LentBuffer {
  /** The usable view, `length` bytes long. */
  bytes: Buffer;
  /** Gives the memory back; call once, when nothing reads `bytes` any more. */
  release(): void;
}

/**
 * Reusable buffers in power-of-two size classes. Fresh large buffers are costly on every
 * request (the allocator maps new pages and the kernel zeroes them: measured at about a third of
 * the CPU of serving a file from the page cache); reused ones are not. Memory stays bounded:
 * at most `maxLentBytes` out at once and `maxIdleBytes` kept.
 *
 * @example
 * ```ts
 * const lent = pool.acquire(size);
 * if (lent) { fill(lent.bytes); response.once('close', lent.release); }
 * ```
 */
export class BufferPool {
  readonly #options: Required<BufferPoolOptions>;
  readonly #idle = new Map<number, Buffer[]>();
  #idleBytes = 0;
  #lentBytes = 0;

  constructor(options: BufferPoolOptions = {}) {
    this.#options = { ...DEFAULT_BUFFER_POOL_OPTIONS, ...options };
  }

  /** Bytes lent and not yet released. */
  get lentBytes(): number {
    return this.#lentBytes;
  }

  /** Bytes kept for reuse. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** A buffer of `length` bytes, or null when `length` is over `maxBytes` or the lending budget is spent. */
  acquire(length: number): LentBuffer | null {
    const { minBytes, maxBytes, maxLentBytes } = this.#options;
    if (length > maxBytes) return null;
    const pooled = length >= minBytes;
    const capacity = pooled ? 2 ** Math.ceil(Math.log2(length)) : length;
    if (this.#lentBytes + capacity > maxLentBytes) return null;
    let buffer = pooled ? this.#idle.get(capacity)?.pop() : undefined;
    if (buffer) this.#idleBytes -= capacity;
    else buffer = Buffer.allocUnsafe(capacity);
    this.#lentBytes += capacity;
    let released = false;
    const owned = buffer;
    return {
      bytes: owned.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        this.#lentBytes -= capacity;
        if (pooled && this.#idleBytes + capacity <= this.#options.maxIdleBytes) {
          const list = this.#idle.get(capacity) ?? [];
          list.push(owned);
          this.#idle.set(capacity, list);
          this.#idleBytes += capacity;
        }
      },
    };
  }
}
