import { expect, test } from 'bun:test';
import { RateLimitedError, TransientError } from '@omni/sync-core';
import { isRateOverlimit, translateSocketError } from '../src/socket/socket-errors.ts';

const boom = (statusCode: number, message: string) =>
  Object.assign(new Error(message), { output: { statusCode } });

test('rate-overlimit becomes RateLimitedError (account scope), timeouts TransientError, the rest unchanged', () => {
  expect(isRateOverlimit(boom(429, 'rate-overlimit'))).toBe(true);
  expect(isRateOverlimit(new Error('rate-overlimit'))).toBe(true);
  expect(isRateOverlimit(boom(404, 'item-not-found'))).toBe(false);
  const limited = translateSocketError(boom(429, 'rate-overlimit'), 'x');
  expect(limited).toBeInstanceOf(RateLimitedError);
  expect((limited as RateLimitedError).scope).toBe('account');
  expect((limited as RateLimitedError).retryAfterMs).toBeNull();
  expect(translateSocketError(boom(408, 'Timed Out'), 'x')).toBeInstanceOf(TransientError);
  expect(translateSocketError(new Error('Connection Closed'), 'x')).toBeInstanceOf(TransientError);
  const other = boom(404, 'item-not-found');
  expect(translateSocketError(other, 'x')).toBe(other);
});
