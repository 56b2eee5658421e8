import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { CredentialCipher, type Instance } from '@omni/db';
import {
  fixedRateSource,
  PluginContextFactory,
  PluginNotFoundError,
  PluginRegistry,
  RateLimitedError,
  RateLimiter,
  VirtualClock,
} from '../src/index.ts';
import { TestPlugin } from './support/test-plugin.ts';

const row = (credentials: string | null): Instance => ({
  id: '11111111-1111-4111-8111-111111111111',
  name: 'bot',
  channel: 'discord',
  is_active: true,
  connection_state: 'open',
  credentials,
  profile_name: null,
  profile_pic_url: null,
  profile_bio: null,
  profile_metadata: null,
  profile_synced_at: null,
  owner_identifier: 'owner-1',
  download_media_on_sync: false,
  omni_config: {},
  created_at: new Date(),
  updated_at: new Date(),
});

describe('PluginContextFactory', () => {
  test('decrypts credentials and routes requests through the limiter', async () => {
    const cipher = new CredentialCipher(randomBytes(32));
    const clock = new VirtualClock(0);
    const limiter = new RateLimiter({ rates: fixedRateSource({}), clock });
    const factory = new PluginContextFactory({ limiter, cipher });
    const ctx = factory.create(
      row(cipher.encryptJson({ token: 'secret-token' }, '11111111-1111-4111-8111-111111111111')),
    );
    expect(ctx.instance).toMatchObject({
      id: '11111111-1111-4111-8111-111111111111',
      channel: 'discord',
      credentials: { token: 'secret-token' },
      ownerIdentifier: 'owner-1',
    });
    let calls = 0;
    const value = await ctx.request('messages', async () => {
      calls += 1;
      if (calls === 1) throw new RateLimitedError('429', { retryAfterMs: 1234 });
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(clock.slept[0]).toBeGreaterThanOrEqual(1234);
    expect(factory.create(row(null)).instance.credentials).toBeNull();
    expect(new PluginContextFactory({ limiter }).create(row('v1:x:y:z')).instance.credentials).toBeNull();
  });

  test('the registry finds plugins by channel and names a missing one', () => {
    const plugin = new TestPlugin({ chats: [] });
    const registry = new PluginRegistry([plugin]);
    expect(registry.get('discord')).toBe(plugin);
    expect(registry.has('whatsapp-baileys')).toBe(false);
    const err = (() => {
      try {
        registry.get('whatsapp-baileys');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PluginNotFoundError);
    expect((err as PluginNotFoundError).code).toBe('PLUGIN_NOT_FOUND');
  });
});
