import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createDiscordPlugin } from '@omni/channel-discord';
import { FakeDiscord, mixedScenario } from '@omni/testkit/discord';
import { auth, createTestApp, type TestApp } from '../helpers.ts';

let fake: FakeDiscord;
let t: TestApp;

beforeAll(async () => {
  fake = await FakeDiscord.start({ data: mixedScenario({ scale: 0.1 }) });
  t = await createTestApp([createDiscordPlugin({ api: fake.apiUrl })]);
}, 60_000);
afterAll(async () => {
  await t.close();
  await fake.stop();
}, 60_000);

test('connect against the fake Discord: bad token 422, good token stores the bot profile', async () => {
  const { id } = (
    await t.app.inject({
      method: 'POST',
      url: '/api/v2/instances',
      headers: auth,
      payload: { name: 'd', channel: 'discord' },
    })
  ).json().data;
  const bad = await t.app.inject({
    method: 'POST',
    url: `/api/v2/instances/${id}/connect`,
    headers: auth,
    payload: { token: 'not-the-token' },
  });
  expect(bad.statusCode).toBe(422);
  expect(bad.json().error.code).toBe('INVALID_CREDENTIALS');

  const ok = await t.app.inject({
    method: 'POST',
    url: `/api/v2/instances/${id}/connect`,
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: JSON.stringify({ token: fake.token }),
  });
  expect(ok.statusCode).toBe(200);
  const data = ok.json().data;
  expect(data.isConnected).toBe(true);
  expect(typeof data.profileName).toBe('string');
  expect(data.profileMetadata).toMatchObject({ isBot: true, guildCount: 2 });
  expect(data.ownerIdentifier).toBe(data.profileMetadata.botId);
  const read = await t.app.inject({ url: `/api/v2/instances/${id}`, headers: auth });
  expect(read.json().data.profileName).toBe(data.profileName);
});
