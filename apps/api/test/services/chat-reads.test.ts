import { describe, expect, test } from 'bun:test';
import { isoOfExact } from '../../src/services/chat-reads.ts';

describe('isoOfExact', () => {
  test('is what Date#toISOString gives for the same time: milliseconds, microseconds cut off', () => {
    const cases = [
      '2026-12-06T18:17:16.123456Z',
      '2026-12-06T18:17:16.999999Z',
      '2026-12-06T18:17:16.000000Z',
      '2026-12-06T18:17:16.000999Z',
      '1999-01-01T00:00:00.057000Z',
      '2026-02-28T23:59:59.999500Z',
    ];
    for (const text of cases) {
      const viaDate = new Date(`${text.slice(0, 23)}Z`).toISOString();
      expect(isoOfExact(text)).toBe(viaDate);
      expect(isoOfExact(text)).toBe(`${text.slice(0, 23)}Z`);
    }
    for (let ms = 0; ms < 1000; ms++) {
      const text = `2026-12-06T18:17:16.${String(ms).padStart(3, '0')}${String((ms * 7) % 1000).padStart(3, '0')}Z`;
      expect(isoOfExact(text)).toBe(new Date(Date.UTC(2026, 11, 6, 18, 17, 16, ms)).toISOString());
    }
  });

  test('anything else is parsed', () => {
    expect(isoOfExact('2026-12-06T18:17:16Z')).toBe('2026-12-06T18:17:16.000Z');
  });
});
