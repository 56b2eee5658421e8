import { describe, expect, test } from 'bun:test';
import { contentRange, parseRange, type RangeRequest } from '../../src/media/byte-range.ts';

const partial = (start: number, end: number): RangeRequest => ({ kind: 'partial', range: { start, end } });

describe('parseRange', () => {
  test('no header or another unit: the whole representation', () => {
    expect(parseRange(1000, undefined)).toEqual({ kind: 'full' });
    expect(parseRange(1000, 'items=1-2')).toEqual({ kind: 'full' });
    expect(parseRange(1000, 'BYTES=1-2')).toEqual({ kind: 'full' });
  });

  test('single, open-ended and suffix ranges, clamped to the size', () => {
    expect(parseRange(1000, 'bytes=10-19')).toEqual(partial(10, 19));
    expect(parseRange(1000, 'bytes=990-')).toEqual(partial(990, 999));
    expect(parseRange(1000, 'bytes=-5')).toEqual(partial(995, 999));
    expect(parseRange(1000, 'bytes=-5000')).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange(1000, 'bytes=900-5000')).toEqual(partial(900, 999));
    expect(parseRange(1000, ' bytes= 1-2 ')).toEqual(partial(1, 2));
  });

  test('nothing inside the representation: unsatisfiable', () => {
    for (const header of ['bytes=1000-', 'bytes=-0', 'bytes=10-5', 'bytes=abc', 'bytes=', 'bytes=-'])
      expect(parseRange(1000, header)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange(0, 'bytes=0-')).toEqual({ kind: 'unsatisfiable' });
  });

  test('several ranges: merged when they overlap or touch, else the whole representation', () => {
    expect(parseRange(1000, 'bytes=1-5,3-9')).toEqual(partial(1, 9));
    expect(parseRange(1000, 'bytes=6-9,1-5')).toEqual(partial(1, 9));
    expect(parseRange(1000, 'bytes=0-1,1000-2000')).toEqual(partial(0, 1));
    expect(parseRange(1000, 'bytes=1-2,5-6')).toEqual({ kind: 'full' });
    expect(parseRange(1000, 'bytes=-1,0-0')).toEqual({ kind: 'full' });
  });

  test('numbers are read as leniently as @fastify/send reads them', () => {
    expect(parseRange(1000, 'bytes=1x-2')).toEqual(partial(1, 2));
    expect(parseRange(1000, 'bytes=1e2-300')).toEqual(partial(1, 300));
    expect(parseRange(1000, 'bytes=-1-2')).toEqual(partial(999, 999));
    expect(parseRange(1000, 'bytes=,1-2')).toEqual(partial(1, 2));
    expect(parseRange(1000, 'bytes=1-2,')).toEqual({ kind: 'full' });
  });
});

test('contentRange', () => {
  expect(contentRange(1000, { start: 0, end: 9 })).toBe('bytes 0-9/1000');
  expect(contentRange(1000)).toBe('bytes */1000');
});
