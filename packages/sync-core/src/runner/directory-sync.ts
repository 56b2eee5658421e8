import { toJson } from '@omni/db';
import { sql } from 'kysely';
import { hasContacts, hasGroups } from '../contract/channel-plugin.ts';
import { PermanentError } from '../errors/permanent-error.ts';
import { holdLease } from '../jobs/job-repository.ts';
import type { JobRun } from './job-run.ts';

/** The `profile` part: the account's identity into the instance's profile columns. */
export async function syncProfile(run: JobRun): Promise<void> {
  const profile = await run.plugin.getProfile(run.ctx);
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    await trx
      .updateTable('instances')
      .set({
        profile_name: profile.name,
        profile_pic_url: profile.avatarUrl,
        profile_bio: profile.bio,
        profile_metadata: toJson(profile.platformMetadata ?? {}),
        profile_synced_at: sql`now()`,
        owner_identifier: sql`coalesce(${profile.ownerIdentifier}, owner_identifier)`,
        updated_at: sql`now()`,
      })
      .where('id', '=', run.instance.id)
      .execute();
    await run.jobs.updateProgress(
      run.lease,
      { profile: { name: profile.name, syncedAt: new Date().toISOString() } },
      {},
      trx,
    );
  });
}

/**
 * The `contacts` part: every page upserted into `contacts`; after a complete listing, contacts the
 * refresh did not see are marked `is_present = false`. A listing with warnings (the platform
 * refused part of it, e.g. a missing members intent) is not complete: nothing is marked absent.
 */
export async function syncContacts(run: JobRun): Promise<void> {
  const plugin = run.plugin;
  if (!hasContacts(plugin)) throw new PermanentError(`${plugin.id} cannot list contacts`);
  const startedAt = new Date();
  let seen = 0;
  let created = 0;
  let complete = true;
  for await (const page of plugin.fetchContacts(run.ctx, { cursor: null })) {
    const counts = await run.db.transaction().execute(async (trx) => {
      await holdLease(trx, run.lease);
      if (page.warnings?.length)
        await run.jobs.updateProgress(run.lease, {}, { warnings: page.warnings }, trx);
      return run.directory.upsertContacts(trx, run.instance.id, page.items, startedAt);
    });
    seen += page.items.length;
    created += counts.created;
    if (page.warnings?.length) complete = false;
    await run.checkStop();
  }
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    const absent = complete ? await run.directory.markAbsentContacts(trx, run.instance.id, startedAt) : 0;
    await run.jobs.updateProgress(
      run.lease,
      { contacts: { seen, created, markedAbsent: absent, complete } },
      {},
      trx,
    );
  });
}

/**
 * The `groups` part: groups and their participants upserted; after a complete listing (no
 * warnings), groups and participants the refresh did not see are marked absent.
 */
export async function syncGroups(run: JobRun): Promise<void> {
  const plugin = run.plugin;
  if (!hasGroups(plugin)) throw new PermanentError(`${plugin.id} cannot list groups`);
  const startedAt = new Date();
  let seen = 0;
  let created = 0;
  let participants = 0;
  let complete = true;
  for await (const page of plugin.fetchGroups(run.ctx, { cursor: null })) {
    const counts = await run.db.transaction().execute(async (trx) => {
      await holdLease(trx, run.lease);
      if (page.warnings?.length)
        await run.jobs.updateProgress(run.lease, {}, { warnings: page.warnings }, trx);
      return run.directory.upsertGroups(trx, run.instance.id, page.items, startedAt);
    });
    seen += page.items.length;
    created += counts.created;
    participants += counts.participants;
    if (page.warnings?.length) complete = false;
    await run.checkStop();
  }
  await run.db.transaction().execute(async (trx) => {
    await holdLease(trx, run.lease);
    const absent = complete ? await run.directory.markAbsentGroups(trx, run.instance.id, startedAt) : 0;
    await run.jobs.updateProgress(
      run.lease,
      { groups: { seen, created, participants, markedAbsent: absent, complete } },
      {},
      trx,
    );
  });
}
