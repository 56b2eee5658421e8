import type { Database, SettingsService, SyncJobType } from '@omni/db';
import type { JobRepository, Logger, PluginRegistry } from '@omni/sync-core';
import { Cron } from 'croner';
import type { Kysely } from 'kysely';
import type { ProfileSyncService } from '../profile/profile-sync-service.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { CatchupTrigger } from './catchup-trigger.ts';

/** Options of {@link SyncScheduler}. */
export interface SyncSchedulerOptions {
  /**
   * How often settings are re-read so cron changes apply without a restart.
   * @defaultValue 60_000
   */
  settingsPollMs?: number;
  /**
   * Profiles older than this are refreshed at start-up.
   * @defaultValue 86_400_000
   */
  staleProfileMs?: number;
}

/** Services the scheduler uses. */
export interface SyncSchedulerDeps {
  db: Kysely<Database>;
  settings: SettingsService;
  jobs: JobRepository;
  queue: JobQueue;
  profiles: ProfileSyncService;
  plugins: PluginRegistry;
  log: Logger;
}

/**
 * Periodic work, run by the leader only: profile refresh at `sync.profile.scheduleCron`,
 * contacts and groups at `sync.contacts.scheduleCron` (each when enabled), as ordinary jobs; and
 * at start, a refresh of profiles older than 24 h and (`sync.catchup.enabled`) a catchup job per
 * instance with synced history.
 */
export class SyncScheduler {
  readonly #deps: SyncSchedulerDeps;
  readonly #options: Required<SyncSchedulerOptions>;
  readonly #catchup: CatchupTrigger;
  #crons: { profile: Cron | null; contacts: Cron | null } = { profile: null, contacts: null };
  #applied = '';
  #poll: ReturnType<typeof setInterval> | null = null;

  constructor(deps: SyncSchedulerDeps, options: SyncSchedulerOptions = {}) {
    this.#deps = deps;
    this.#options = { settingsPollMs: 60_000, staleProfileMs: 86_400_000, ...options };
    this.#catchup = new CatchupTrigger(deps);
  }

  /** Active cron patterns (for tests and logs). */
  get patterns(): { profile: string | null; contacts: string | null } {
    return {
      profile: this.#crons.profile?.getPattern() ?? null,
      contacts: this.#crons.contacts?.getPattern() ?? null,
    };
  }

  async start(): Promise<void> {
    await this.applySettings();
    if (await this.#deps.settings.get('sync.catchup.enabled')) {
      void this.runCatchup()
        .then((ids) => {
          if (ids.length > 0) this.#deps.log.info({ jobs: ids.length }, 'catch-up queued at start-up');
        })
        .catch((err) => this.#deps.log.warn({ err }, 'start-up catch-up failed'));
    }
    this.#poll = setInterval(() => void this.applySettings().catch(() => {}), this.#options.settingsPollMs);
    void this.#deps.profiles
      .refreshStale({ maxAgeMs: this.#options.staleProfileMs })
      .then((r) => {
        if (r.refreshed || r.failed.length) this.#deps.log.info(r, 'stale profiles refreshed at start-up');
      })
      .catch((err) => this.#deps.log.warn({ err }, 'start-up profile refresh failed'));
  }

  stop(): void {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    this.#crons.profile?.stop();
    this.#crons.contacts?.stop();
    this.#crons = { profile: null, contacts: null };
    this.#applied = '';
  }

  /** (Re)creates the crons from the current settings when they changed. */
  async applySettings(): Promise<void> {
    const s = this.#deps.settings;
    const wanted = {
      profile: (await s.get('sync.profile.scheduleEnabled'))
        ? await s.get('sync.profile.scheduleCron')
        : null,
      contacts: (await s.get('sync.contacts.scheduleEnabled'))
        ? await s.get('sync.contacts.scheduleCron')
        : null,
    };
    const key = JSON.stringify(wanted);
    if (key === this.#applied) return;
    this.#crons.profile?.stop();
    this.#crons.contacts?.stop();
    this.#crons = {
      profile: wanted.profile
        ? new Cron(wanted.profile, { protect: true, timezone: 'UTC' }, () => void this.runProfileRefresh())
        : null,
      contacts: wanted.contacts
        ? new Cron(wanted.contacts, { protect: true, timezone: 'UTC' }, () => void this.runContactsRefresh())
        : null,
    };
    this.#applied = key;
  }

  /** Queues a profile job for every connected, active instance. Returns the job ids. */
  async runProfileRefresh(): Promise<string[]> {
    return this.#queueFor(['profile']);
  }

  /**
   * Queues a `catchup` job for every connected, active instance that has a coverage ledger (something
   * synced before): each fills, per chat, the gap since its newest covered point — what the fleet
   * missed while it was down. Through the {@link CatchupTrigger}: one pending per instance, queued
   * behind a catch-up the crash interrupted (that one's window ended before the downtime). Returns
   * the job ids.
   */
  async runCatchup(): Promise<string[]> {
    const covered = await this.#deps.db
      .selectFrom('chat_coverage')
      .innerJoin('instances', 'instances.id', 'chat_coverage.instance_id')
      .select(['chat_coverage.instance_id as id', 'instances.channel'])
      .distinct()
      .where('instances.is_active', '=', true)
      .where((eb) =>
        eb.or([eb('instances.credentials', 'is not', null), eb('instances.connection_state', '=', 'open')]),
      )
      .execute();
    const ids: string[] = [];
    for (const instance of covered) {
      const plugin = this.#deps.plugins.has(instance.channel)
        ? this.#deps.plugins.get(instance.channel)
        : null;
      if (plugin && !plugin.capabilities.parts.includes('messages')) continue;
      try {
        const id = await this.#catchup.request(instance.id, 'start-up');
        if (id) ids.push(id);
      } catch (err) {
        this.#deps.log.warn({ err, instanceId: instance.id, type: 'catchup' }, 'scheduled job not queued');
      }
    }
    return ids;
  }

  /** Queues contacts and groups jobs for every connected, active instance whose channel has them. */
  async runContactsRefresh(): Promise<string[]> {
    return this.#queueFor(['contacts', 'groups']);
  }

  async #queueFor(types: SyncJobType[], only?: ReadonlySet<string>): Promise<string[]> {
    const found = await this.#deps.db
      .selectFrom('instances')
      .select(['id', 'channel'])
      .where('is_active', '=', true)
      .where((eb) => eb.or([eb('credentials', 'is not', null), eb('connection_state', '=', 'open')]))
      .execute();
    const instances = only ? found.filter((i) => only.has(i.id)) : found;
    const ids: string[] = [];
    for (const instance of instances) {
      const plugin = this.#deps.plugins.has(instance.channel)
        ? this.#deps.plugins.get(instance.channel)
        : null;
      for (const type of types) {
        const part = type === 'catchup' ? 'messages' : type;
        if (plugin && part !== 'all' && !plugin.capabilities.parts.includes(part)) continue;
        try {
          const { job } = await this.#deps.jobs.createJob(instance.id, type, {});
          await this.#deps.queue.dispatch({ jobId: job.id, instanceId: instance.id });
          ids.push(job.id);
        } catch (err) {
          this.#deps.log.warn({ err, instanceId: instance.id, type }, 'scheduled job not queued');
        }
      }
    }
    this.#deps.log.info({ types, jobs: ids.length }, 'scheduled sync queued');
    return ids;
  }
}
