import { expect, test } from 'bun:test';
import { BufferPool } from '../../src/media/buffer-pool.ts';

const KB = 1024;

test('lends buffers of the asked length and reuses released ones of the same class', () => {
  const pool = new BufferPool({ minBytes: 64 * KB, maxBytes: 1024 * KB });
  const a = pool.acquire(100 * KB);
  expect(a?.bytes.length).toBe(100 * KB);
  expect(pool.lentBytes).toBe(128 * KB);
  a?.bytes.fill(7);
  a?.release();
  a?.release();
  expect(pool.lentBytes).toBe(0);
  expect(pool.idleBytes).toBe(128 * KB);
  const b = pool.acquire(120 * KB);
  expect(b?.bytes.buffer).toBe(a?.bytes.buffer as ArrayBuffer);
  expect(pool.idleBytes).toBe(0);
});

test('small buffers are fresh and not kept; over maxBytes or the lending budget is refused', () => {
  const pool = new BufferPool({ minBytes: 64 * KB, maxBytes: 1024 * KB, maxLentBytes: 2048 * KB });
  const small = pool.acquire(10);
  expect(small?.bytes.length).toBe(10);
  small?.release();
  expect(pool.idleBytes).toBe(0);
  expect(pool.acquire(1025 * KB)).toBeNull();
  const held = [pool.acquire(1024 * KB), pool.acquire(1024 * KB)];
  expect(pool.acquire(64 * KB)).toBeNull();
  held[0]?.release();
  expect(pool.acquire(64 * KB)).not.toBeNull();
});

test('keeps at most maxIdleBytes of returned buffers', () => {
  const pool = new BufferPool({ minBytes: 64 * KB, maxBytes: 1024 * KB, maxIdleBytes: 1024 * KB });
  const lent = [pool.acquire(1024 * KB), pool.acquire(1024 * KB)];
  for (const l of lent) l?.release();
  expect(pool.idleBytes).toBe(1024 * KB);
});
