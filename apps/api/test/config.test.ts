import { expect, test } from 'bun:test';
import { loadConfig } from '../src/config.ts';

test('NATIVE_MEDIA: on by default, false turns the native media path off, anything else is refused', () => {
  expect(loadConfig({}).nativeMedia).toBe(true);
  expect(loadConfig({ NATIVE_MEDIA: '' }).nativeMedia).toBe(true);
  expect(loadConfig({ NATIVE_MEDIA: 'true' }).nativeMedia).toBe(true);
  expect(loadConfig({ NATIVE_MEDIA: 'false' }).nativeMedia).toBe(false);
  expect(() => loadConfig({ NATIVE_MEDIA: 'no' })).toThrow('NATIVE_MEDIA must be true or false, got "no"');
});
