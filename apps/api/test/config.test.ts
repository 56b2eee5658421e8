import { expect, test } from 'bun:test';
import { loadConfig } from '../src/config.ts';

test('NATIVE_MEDIA: on by default, false turns the native media path off, anything else is refused', () => {
  expect(loadConfig({}).nativeMedia).toBe(true);
  expect(loadConfig({ NATIVE_MEDIA: '' }).nativeMedia).toBe(true);
  expect(loadConfig({ NATIVE_MEDIA: 'true' }).nativeMedia).toBe(true);
  expect(loadConfig({ NATIVE_MEDIA: 'false' }).nativeMedia).toBe(false);
  expect(() => loadConfig({ NATIVE_MEDIA: 'no' })).toThrow('NATIVE_MEDIA must be true or false, got "no"');
});

test('MESSAGE_PAGE_CACHE_MB: 64 by default, 0 turns the page cache off, anything else is refused', () => {
  expect(loadConfig({}).messagePageCacheMb).toBe(64);
  expect(loadConfig({ MESSAGE_PAGE_CACHE_MB: '0' }).messagePageCacheMb).toBe(0);
  expect(loadConfig({ MESSAGE_PAGE_CACHE_MB: '16' }).messagePageCacheMb).toBe(16);
  expect(() => loadConfig({ MESSAGE_PAGE_CACHE_MB: '-1' })).toThrow('MESSAGE_PAGE_CACHE_MB');
  expect(() => loadConfig({ MESSAGE_PAGE_CACHE_MB: 'lots' })).toThrow('MESSAGE_PAGE_CACHE_MB');
});
