import { describe, expect, test } from 'bun:test';
import type { DirectoryPage, NormalizedContact, NormalizedGroup } from '@omni/sync-core';
import type { GroupMetadata } from '@whiskeysockets/baileys';
import { harness } from './helpers.ts';

const ME = { id: '15559990000:2@s.whatsapp.net', lid: '90000@lid', name: 'Acme Support' };

async function all<T>(iterable: AsyncIterable<DirectoryPage<T>>): Promise<DirectoryPage<T>[]> {
  const out: DirectoryPage<T>[] = [];
  for await (const page of iterable) out.push(page);
  return out;
}

const group = (id: string, subject: string, members: number): GroupMetadata => ({
  id,
  subject,
  desc: `about ${subject}`,
  owner: '5001@lid',
  ownerPn: '15550005001@s.whatsapp.net',
  creation: 1_700_000_000,
  announce: true,
  restrict: false,
  size: members,
  participants: [
    { id: '5001@lid', phoneNumber: '15550005001@s.whatsapp.net', admin: 'superadmin' },
    { id: '5002@lid', admin: 'admin' },
    ...Array.from({ length: members - 2 }, (_, i) => ({ id: `${6000 + i}@lid`, admin: null })),
  ],
});

describe('profile', () => {
  test('business account: name, avatar, bio and the seed metadata', async () => {
    const h = harness({
      me: ME,
      chats: [],
      pushOnOpen: false,
      profile: {
        pictureUrl: 'https://pps.whatsapp.net/v/t61/me.jpg',
        status: 'Open 9-5',
        business: {
          description: 'We sell things',
          category: 'Retail',
          email: 'hi@acme.test',
          website: ['https://acme.test'],
          business_hours: { timezone: 'Europe/Berlin', config: [{ day_of_week: 'mon', mode: 'open_24h' }] },
        } as never,
      },
    });
    const profile = await h.plugin.getProfile(h.ctx);
    expect(profile).toMatchObject({
      name: 'Acme Support',
      avatarUrl: 'https://pps.whatsapp.net/v/t61/me.jpg',
      bio: 'Open 9-5',
      ownerIdentifier: '+15559990000',
    });
    expect(profile.platformMetadata).toMatchObject({
      phoneNumber: '+15559990000',
      pushName: 'Acme Support',
      isBusiness: true,
      businessName: 'Acme Support',
      businessDescription: 'We sell things',
      businessCategory: 'Retail',
      businessHours: { timezone: 'Europe/Berlin', config: [{ day_of_week: 'mon', mode: 'open_24h' }] },
      isVerified: false,
    });
    expect(h.ctx.requests.filter((k) => k === 'profile')).toHaveLength(3);
    await h.plugin.close();
  });

  test('personal account without avatar or bio', async () => {
    const h = harness({ me: ME, chats: [], pushOnOpen: false });
    const profile = await h.plugin.getProfile(h.ctx);
    expect(profile).toMatchObject({
      avatarUrl: null,
      bio: null,
      platformMetadata: { isBusiness: false, isVerified: false },
    });
    await h.plugin.close();
  });
});

describe('contacts and groups', () => {
  test('contacts from history and contact events, keyed canonically with LID and phone', async () => {
    const h = harness({
      me: ME,
      chats: [
        { jid: '7001@lid', altJid: '15550007001@s.whatsapp.net', name: 'Carol', messages: [] },
        { jid: '15550007003@s.whatsapp.net', messages: [] },
      ],
      pushNames: [{ id: '15550007002@s.whatsapp.net', pushname: 'Dave' }],
    });
    await h.plugin.connect(h.id);
    h.fake.last?.ev.emit('contacts.upsert', [
      {
        id: '7003@lid',
        phoneNumber: '15550007003@s.whatsapp.net',
        name: 'Erin',
        notify: 'E',
        verifiedName: 'Erin Inc',
      },
    ]);
    h.fake.last?.ev.emit('contacts.update', [{ id: '15550007002@s.whatsapp.net', name: 'David' }]);
    const pages = await all(h.plugin.fetchContacts(h.ctx, { cursor: null }));
    const contacts = pages.flatMap((p) => p.items);
    const byId = new Map(contacts.map((c: NormalizedContact) => [String(c.externalId), c]));
    expect(byId.get('15550007001@s.whatsapp.net')).toMatchObject({
      name: 'Carol',
      lid: '7001@lid',
      phoneNumber: '+15550007001',
    });
    expect(byId.get('15550007002@s.whatsapp.net')).toMatchObject({ name: 'David', pushName: 'Dave' });
    expect(byId.get('15550007003@s.whatsapp.net')).toMatchObject({
      name: 'Erin',
      pushName: 'E',
      verifiedName: 'Erin Inc',
      lid: '7003@lid',
      phoneNumber: '+15550007003',
    });
    expect(byId.has('7001@lid')).toBe(false);
    const chats = (await h.plugin.listChats(h.ctx)).chats;
    expect(chats.find((c) => c.id === '15550007001@s.whatsapp.net')?.name).toBe('Carol');
    expect(chats.find((c) => c.id === '15550007003@s.whatsapp.net')?.name).toBe('Erin');
    expect(byId.has('7003@lid')).toBe(false);
    expect(pages.at(-1)?.hasMore).toBe(false);
    await h.plugin.close();
  });

  test('avatar URLs on request, one paced request per contact', async () => {
    const h = harness(
      {
        me: ME,
        chats: [],
        pushOnOpen: false,
        profile: { pictureUrl: 'https://pps.whatsapp.net/v/t61/p.jpg' },
        pushNames: [
          { id: '15550007002@s.whatsapp.net', pushname: 'Dave' },
          { id: '15550007004@s.whatsapp.net', pushname: 'Finn' },
        ],
      },
      { contactAvatars: true },
    );
    await h.plugin.connect(h.id);
    h.fake.last?.pushHistory();
    const contacts = (await all(h.plugin.fetchContacts(h.ctx, { cursor: null }))).flatMap((p) => p.items);
    expect(contacts.map((c) => c.avatarUrl)).toEqual([
      'https://pps.whatsapp.net/v/t61/p.jpg',
      'https://pps.whatsapp.net/v/t61/p.jpg',
    ]);
    expect(h.ctx.requests).toEqual(['contacts', 'contacts']);
    expect(h.fake.last?.calls.get('profilePictureUrl')).toBe(2);
    await h.plugin.close();
  });

  test('groups: subject, description, owner, creation, participants with roles, settings; paged', async () => {
    const h = harness(
      {
        me: ME,
        chats: [],
        pushOnOpen: false,
        groups: [
          group('120363000000000001@g.us', 'Team', 5),
          group('120363000000000002@g.us', 'Family', 3),
          group('120363000000000003@g.us', 'Club', 4),
        ],
      },
      { groupsPageSize: 2 },
    );
    const pages = await all(h.plugin.fetchGroups(h.ctx, { cursor: null }));
    expect(pages.map((p) => [p.items.length, p.hasMore])).toEqual([
      [2, true],
      [1, false],
    ]);
    const team = pages.flatMap((p) => p.items).find((g: NormalizedGroup) => g.name === 'Team');
    expect(team).toMatchObject({
      externalId: '120363000000000001@g.us',
      description: 'about Team',
      memberCount: 5,
    });
    expect(team?.participants?.slice(0, 3)).toEqual([
      { id: '15550005001@s.whatsapp.net', role: 'superadmin' },
      { id: '5002@lid', role: 'admin' },
      { id: '6000@lid', role: 'member' },
    ]);
    expect(team?.metadata).toMatchObject({
      owner: '15550005001@s.whatsapp.net',
      creation: 1_700_000_000_000,
      announce: true,
      restrict: false,
    });
    expect(h.ctx.requests).toEqual(['contacts']);
    const resumed = await all(h.plugin.fetchGroups(h.ctx, { cursor: pages[0]?.cursor ?? null }));
    expect(resumed.flatMap((p) => p.items.map((g) => g.name))).toEqual(['Club']);
    await h.plugin.close();
  });
});
