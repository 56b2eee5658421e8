import { afterAll, beforeAll, expect, test } from 'bun:test';
import { toJson } from '@omni/db';
import { auth, createInstance, createTestApp, type TestApp } from '../helpers.ts';

let t: TestApp;
let instanceId: string;

beforeAll(async () => {
  t = await createTestApp();
  instanceId = await createInstance(t, 'dir');
  await t.db.db
    .insertInto('contacts')
    .values([
      {
        instance_id: instanceId,
        external_id: 'u1',
        name: 'Alice',
        phone_number: '+4915112345',
        metadata: toJson({}),
      },
      { instance_id: instanceId, external_id: 'u2', name: 'Bob', metadata: toJson({ bot: true }) },
      { instance_id: instanceId, external_id: 'u3', push_name: 'Carol_1', metadata: toJson({}) },
      { instance_id: instanceId, external_id: 'u4', name: 'Gone', is_present: false, metadata: toJson({}) },
    ])
    .execute();
  await t.db.db
    .insertInto('omni_groups')
    .values([
      {
        instance_id: instanceId,
        external_id: 'g1',
        name: 'Omni HQ',
        member_count: 3,
        metadata: toJson({ icon: null }),
      },
      { instance_id: instanceId, external_id: 'g2', name: 'Second', member_count: 1 },
      {
        instance_id: instanceId,
        external_id: 'g3',
        name: 'Third',
        description: 'weekly standup',
        member_count: 4,
      },
      { instance_id: instanceId, external_id: 'g4', name: 'Left', is_present: false, member_count: 0 },
    ])
    .execute();
  await t.db.db
    .insertInto('group_participants')
    .values([
      { instance_id: instanceId, group_external_id: 'g1', participant_id: 'u1', role: 'owner' },
      { instance_id: instanceId, group_external_id: 'g1', participant_id: 'u2', role: 'member' },
    ])
    .execute();
}, 60_000);
afterAll(async () => {
  await t.close();
}, 60_000);

const get = (path: string) => t.app.inject({ url: `/api/v2/instances/${instanceId}${path}`, headers: auth });

test('contacts: sorted by name, paged, searched, absent ones hidden unless asked', async () => {
  const first = (await get('/contacts?limit=2')).json();
  expect(first.items.map((c: { platformUserId: string }) => c.platformUserId)).toEqual(['u1', 'u2']);
  expect(first.meta).toMatchObject({ totalFetched: 3, hasMore: true });
  const second = (await get(`/contacts?limit=2&cursor=${first.meta.cursor}`)).json();
  expect(second.items.map((c: { platformUserId: string }) => c.platformUserId)).toEqual(['u3']);
  expect(second.meta.hasMore).toBe(false);
  expect((await get('/contacts?search=4915')).json().items[0].displayName).toBe('Alice');
  expect((await get('/contacts?search=carol_')).json().items[0].pushName).toBe('Carol_1');
  expect((await get('/contacts?search=%25')).json().items).toHaveLength(0);
  expect((await get('/contacts?includeAbsent=true')).json().meta.totalFetched).toBe(4);
  const guild = (await get('/contacts?guildId=g1')).json();
  expect(guild.items.map((c: { platformUserId: string }) => c.platformUserId)).toEqual(['u1', 'u2']);
  expect((await get('/contacts?excludeGroups=true')).json().meta.totalFetched).toBe(3);
  const one = (await get(`/contacts/${first.items[1].id}`)).json().data;
  expect(one).toMatchObject({ platformUserId: 'u2', platformMetadata: { bot: true }, isPresent: true });
  expect((await get('/contacts/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
});

test('groups: list and detail with participants', async () => {
  const list = (await get('/groups')).json();
  expect(list.items.map((g: { name: string }) => g.name)).toEqual(['Omni HQ', 'Second', 'Third']);
  expect(list.meta.totalFetched).toBe(3);
  const page1 = (await get('/groups?limit=2')).json();
  expect(page1.meta).toMatchObject({ totalFetched: 3, hasMore: true });
  const page2 = (await get(`/groups?limit=2&cursor=${page1.meta.cursor}`)).json();
  expect(page2.items.map((g: { externalId: string }) => g.externalId)).toEqual(['g3']);
  expect(page2.meta.hasMore).toBe(false);
  expect((await get('/groups?search=STANDUP')).json().items.map((g: { name: string }) => g.name)).toEqual([
    'Third',
  ]);
  expect((await get('/groups?search=g2')).json().items[0].name).toBe('Second');
  expect((await get('/groups?includeAbsent=true')).json().meta.totalFetched).toBe(4);
  const detail = (await get(`/groups/${list.items[0].id}`)).json().data;
  expect(detail).toMatchObject({ externalId: 'g1', memberCount: 3 });
  expect(detail.participants).toEqual([
    { id: 'u1', role: 'owner', isPresent: true },
    { id: 'u2', role: 'member', isPresent: true },
  ]);
  expect((await get('/groups?cursor=zzz')).statusCode).toBe(400);
  expect(
    (
      await t.app.inject({
        url: '/api/v2/instances/00000000-0000-4000-8000-000000000000/groups',
        headers: auth,
      })
    ).statusCode,
  ).toBe(404);
});
