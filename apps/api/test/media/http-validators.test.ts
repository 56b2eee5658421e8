import { describe, expect, test } from 'bun:test';
import { evaluatePreconditions, fileValidators, rangeStillValid } from '../../src/media/http-validators.ts';

const mtime = new Date('2026-02-03T04:05:06.789Z');
const v = fileValidators(1000, mtime);
const earlier = new Date(mtime.getTime() - 2000).toUTCString();

describe('http validators', () => {
  test('weak ETag from size and mtime, Last-Modified in whole seconds', () => {
    expect(v.etag).toBe(`W/"3e8-${mtime.getTime().toString(16)}"`);
    expect(v.lastModified).toBe('Tue, 03 Feb 2026 04:05:06 GMT');
  });

  test('preconditions: 412 before 304, If-None-Match over If-Modified-Since', () => {
    expect(evaluatePreconditions({}, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-none-match': v.etag }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': `"a" ,  ${v.etag.slice(2)}` }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '"a"', 'if-modified-since': v.lastModified }, v)).toBe(
      'proceed',
    );
    expect(evaluatePreconditions({ 'if-modified-since': v.lastModified }, v)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-modified-since': earlier }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-none-match': '*', 'cache-control': 'no-cache' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-match': '"a"', 'if-none-match': v.etag }, v)).toBe(
      'precondition-failed',
    );
    expect(evaluatePreconditions({ 'if-match': '*' }, v)).toBe('proceed');
    expect(evaluatePreconditions({ 'if-unmodified-since': earlier }, v)).toBe('precondition-failed');
    expect(evaluatePreconditions({ 'if-unmodified-since': 'not a date' }, v)).toBe('proceed');
  });

  test('If-Range by entity tag or date', () => {
    expect(rangeStillValid({}, v)).toBe(true);
    expect(rangeStillValid({ 'if-range': v.etag }, v)).toBe(true);
    expect(rangeStillValid({ 'if-range': '"other"' }, v)).toBe(false);
    expect(rangeStillValid({ 'if-range': v.lastModified }, v)).toBe(true);
    expect(rangeStillValid({ 'if-range': earlier }, v)).toBe(false);
    expect(rangeStillValid({ 'if-range': 'not a date' }, v)).toBe(false);
  });
});
