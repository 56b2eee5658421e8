import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Cleanup } from '../lib/cleanup.ts';
import type { FaultsConfig } from '../lib/config.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { type CleanRun, cleanRun, problemsAgainstClean } from '../lib/sync-checks.ts';
import { MESSAGE_COUNTERS } from '../lib/verify.ts';
import { check } from '../lib/wait.ts';
import type { WorkerProcess } from '../lib/worker-process.ts';
import { SyncWorld } from '../lib/world.ts';

/**
 * A world on one seeded channel with images, voice notes and PDFs, a worker process, and a clean
 * reference run with media into a writable folder.
 */
async function mediaWorld(
  config: FaultsConfig,
  cleanup: Cleanup,
  seed: number,
): Promise<{ world: SyncWorld; clean: CleanRun }> {
  const world = await SyncWorld.open({
    cleanup,
    natsUrl: config.natsUrl,
    fake: {
      data: {
        seed,
        nowMs: Date.now() - 1000,
        mix: { image: 0.2, voice: 0.1, pdf: 0.1 },
        maxAttachmentBytes: 4096,
        guilds: [
          {
            name: 'M',
            channels: [{ name: 'pics', messageCount: config.sizes.mediaMessages, historyDays: 5 }],
          },
        ],
      },
      latencyMs: 2,
    },
  });
  const good = join(world.dir, 'media-good');
  mkdirSync(good);
  await useStoragePath(world, good);
  const clean = await cleanRun(
    world,
    { type: 'messages', depth: 'all', downloadMedia: true },
    { downloadMedia: true },
  );
  return { world, clean };
}

/** Every regular file under `dir` (relative paths). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

const workers = new WeakMap<SyncWorld, { worker: WorkerProcess; generation: number }>();

/**
 * Points `media.storagePath` at `path` the way a deployment does: the scenario's worker is
 * (re)started with `MEDIA_STORAGE_PATH=path` (the setting is not writable at run time).
 */
async function useStoragePath(world: SyncWorld, path: string): Promise<void> {
  const current = workers.get(world);
  if (current) await current.worker.kill('SIGTERM');
  const generation = (current?.generation ?? 0) + 1;
  const worker = world.startWorker(`m${generation}`, { MEDIA_STORAGE_PATH: path });
  workers.set(world, { worker, generation });
}

/**
 * Syncs with media into `storagePath` (which refuses writes) and checks: the job completes, every
 * message is stored (exact set, message counters equal the clean run's), every media file is
 * counted (downloaded + skipped + failed equals the clean run's total), failures carry `reason`,
 * and no file at the storage path is partial or unreferenced.
 */
async function faultyMediaRun(
  world: SyncWorld,
  clean: CleanRun,
  storagePath: string,
  reason: string,
  log: ScenarioContext['log'],
): Promise<string> {
  await useStoragePath(world, storagePath);
  const instance = await world.connectedInstance('faulty', true);
  const { jobId } = await world.postSync(instance, { type: 'messages', depth: 'all', downloadMedia: true });
  const job = await world.waitFinished(jobId, 120_000);
  const p = world.progress(job);
  const c = clean.progress;
  // Message counters only: the media counters differ on purpose when the disk refuses writes.
  const problems = await problemsAgainstClean(world, instance, job, clean, MESSAGE_COUNTERS);
  const cleanMedia = c.mediaDownloaded + c.mediaSkipped + c.mediaFailed;
  if (p.mediaDownloaded + p.mediaSkipped + p.mediaFailed !== cleanMedia)
    problems.push(
      `media counted ${p.mediaDownloaded}+${p.mediaSkipped}+${p.mediaFailed} ≠ clean ${cleanMedia}`,
    );
  if (p.mediaFailed === 0) problems.push('no media counted as failed');
  const reasons = p.mediaFailReasons ?? {};
  if ((reasons[reason] ?? 0) !== p.mediaFailed)
    problems.push(
      `mediaFailReasons ${JSON.stringify(reasons)}: expected all ${p.mediaFailed} as "${reason}"`,
    );
  const rows = await world.db
    .selectFrom('messages')
    .select(['media_local_path', 'media_sha256', 'has_media'])
    .where('instance_id', '=', instance)
    .where('has_media', '=', true)
    .execute();
  const stored = rows.filter((r) => r.media_local_path !== null);
  if (stored.length !== p.mediaDownloaded && p.mediaDownloaded > 0 && stored.length < p.mediaDownloaded)
    problems.push(`${stored.length} rows with a file < mediaDownloaded ${p.mediaDownloaded}`);
  let files: string[] = [];
  try {
    files = statSync(storagePath).isDirectory() ? filesUnder(storagePath) : [];
  } catch {
    files = [];
  }
  const shaOf = new Map(stored.map((r) => [r.media_local_path as string, r.media_sha256]));
  for (const file of files) {
    const abs = join(storagePath, file);
    const sha = createHash('sha256').update(readFileSync(abs)).digest('hex');
    const rel = [...shaOf.keys()].find((k) => k === file || k === abs || abs.endsWith(k));
    if (!rel) problems.push(`file not referenced by any row (partial/leftover): ${file}`);
    else if (shaOf.get(rel) !== sha) problems.push(`file content does not match its row's sha256: ${file}`);
  }
  log(
    `${storagePath}: job ${job.status}, ${p.stored} messages, media ${p.mediaDownloaded} stored / ${p.mediaSkipped} skipped / ${p.mediaFailed} failed ${JSON.stringify(reasons)}, ${files.length} files on disk`,
  );
  check(problems.length === 0, problems.join(', '));
  return `${p.stored} messages stored, ${p.mediaFailed}/${cleanMedia} media failed as ${reason}, ${p.mediaDownloaded} stored whole, no partial file`;
}

/**
 * `media.storagePath` under a regular file: every write fails with ENOTDIR, even for root (a
 * `chmod`-read-only folder would not stop root).
 */
export const mediaUnwritable: Scenario = {
  name: 'media-unwritable',
  timeoutMs: () => 240_000,
  async run({ config, cleanup, log }) {
    const { world, clean } = await mediaWorld(config, cleanup, 61);
    check(
      clean.progress.mediaDownloaded > 10,
      `clean run stored only ${clean.progress.mediaDownloaded} media`,
    );
    log(`clean run: ${clean.progress.stored} messages, ${clean.progress.mediaDownloaded} media stored`);
    const blocker = join(world.dir, 'not-a-dir');
    writeFileSync(blocker, 'a regular file');
    return faultyMediaRun(world, clean, join(blocker, 'media'), 'enotdir', log);
  },
};

/**
 * `media.storagePath` on a 64 KiB tmpfs: files are written until the disk is full, then every write
 * fails with ENOSPC. Needs mount rights (root in a container with CAP_SYS_ADMIN); without them the
 * scenario fails saying so.
 */
export const mediaDiskFull: Scenario = {
  name: 'media-disk-full',
  timeoutMs: () => 240_000,
  async run({ config, cleanup, log }) {
    const { world, clean } = await mediaWorld(config, cleanup, 62);
    check(
      clean.progress.mediaBytes > 96 * 1024,
      `clean run wrote only ${clean.progress.mediaBytes} bytes: the disk would not fill`,
    );
    log(
      `clean run: ${clean.progress.stored} messages, ${clean.progress.mediaDownloaded} media, ${clean.progress.mediaBytes} bytes`,
    );
    const mount = join(world.dir, 'tiny');
    mkdirSync(mount);
    const mounted = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount], {
      stderr: 'pipe',
    });
    check(
      mounted.exitCode === 0,
      `cannot mount a tmpfs here (${mounted.stderr.toString().trim()}): disk-full not testable`,
    );
    cleanup.add(`umount ${mount}`, () => {
      const r = Bun.spawnSync(['umount', '-l', mount], { stderr: 'pipe' });
      if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    });
    return faultyMediaRun(world, clean, mount, 'enospc', log);
  },
};
