/**
 * What the sync benchmarks share: a throw-away Postgres database holding one instance (its token
 * encrypted as the API stores it, bound to the instance), the settings a deployment would set, and
 * the production runner (`createSyncRunner`) over them; `runMessagesJob` runs one job to its end and
 * checks the table holds what the job's progress says it stored.
 */
import { randomBytes } from 'node:crypto';
import { CredentialCipher, SettingsService } from '../../packages/db/src/index.ts';
import { createTestDb, type TestDb } from '../../packages/db/src/testing.ts';
import { createSyncRunner, InProcessEventBus } from '../../packages/runtime/src/index.ts';
import {
  type ChannelPlugin,
  JobRepository,
  noopLogger,
  PluginRegistry,
  readProgress,
  type SyncJobConfig,
  type SyncProgress,
  type SyncRunner,
} from '../../packages/sync-core/src/index.ts';

/** A database, an instance and the production runner over them. */
export interface ProductionSync {
  t: TestDb;
  instanceId: string;
  jobs: JobRepository;
  runner: SyncRunner;
  close(): Promise<void>;
}

/** Opens a {@link ProductionSync} for `plugin`'s channel with `token` and `settings` applied. */
export async function openProductionSync(options: {
  plugin: ChannelPlugin;
  token: string;
  settings: Record<string, unknown>;
}): Promise<ProductionSync> {
  const t = await createTestDb('postgres');
  const cipher = new CredentialCipher(randomBytes(32));
  const settings = new SettingsService(t.db, { env: {} });
  await settings.update(options.settings);
  const id = crypto.randomUUID();
  await t.db
    .insertInto('instances')
    .values({
      id,
      name: 'bench',
      channel: options.plugin.id,
      credentials: cipher.encryptJson({ token: options.token }, id),
    })
    .execute();
  const jobs = new JobRepository(t.db);
  const runner = createSyncRunner(
    {
      db: t,
      settings,
      plugins: new PluginRegistry([options.plugin]),
      cipher,
      events: new InProcessEventBus(),
      jobs,
    },
    noopLogger,
  );
  return { t, instanceId: id, jobs, runner, close: () => t.close() };
}

/**
 * Runs one `messages` job to its end; throws unless it completed and the table holds exactly the
 * rows its progress says it stored. Returns its seconds, progress and the instance's row count.
 */
export async function runMessagesJob(
  sync: ProductionSync,
  config: SyncJobConfig,
): Promise<{ seconds: number; progress: SyncProgress; rows: number }> {
  const { job } = await sync.jobs.createJob(sync.instanceId, 'messages', config);
  const started = performance.now();
  const result = await sync.runner.runJob(job.id, 'bench');
  const seconds = (performance.now() - started) / 1000;
  if (result?.status !== 'completed') throw new Error(`job ended ${result?.status}: ${result?.error}`);
  const progress = readProgress(result.job?.progress);
  const { n } = await sync.t.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('instance_id', '=', sync.instanceId)
    .executeTakeFirstOrThrow();
  if (Number(n) !== progress.stored)
    throw new Error(`progress says ${progress.stored} stored, table has ${n}`);
  return { seconds, progress, rows: Number(n) };
}
