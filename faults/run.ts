/**
 * `bun run test:faults [--scale full|trim] [--seed N] [--only name,name]`
 *
 * Runs the fault scenarios on the real Postgres and NATS with the fake Discord, one after the
 * other, each with its own database, streams, processes and temp folders (all removed afterwards,
 * also on failure). Prints one line per scenario and `N passed, M failed`; exits 1 on any failure.
 * See docs/faults.md.
 */
import { Cleanup } from './lib/cleanup.ts';
import { loadFaultsConfig } from './lib/config.ts';
import { SeededPrng } from './lib/prng.ts';
import type { Scenario } from './lib/scenario.ts';
import { apiFuzz } from './scenarios/api-fuzz.ts';
import { concurrentSync } from './scenarios/concurrent-sync.ts';
import { discordFaults } from './scenarios/discord-faults.ts';
import { killResume } from './scenarios/kill-resume.ts';
import { mediaDiskFull, mediaUnwritable } from './scenarios/media-faults.ts';
import { mediaTraversal } from './scenarios/media-traversal.ts';
import { natsRestart } from './scenarios/nats-restart.ts';
import { postgresRestart } from './scenarios/postgres-restart.ts';
import { slackFaults } from './scenarios/slack-faults.ts';
import { staleWorker } from './scenarios/stale-worker.ts';
import { whatsappPushOutage } from './scenarios/whatsapp-push-outage.ts';
import { whatsappHolderSigterm, whatsappTakeover } from './scenarios/whatsapp-takeover.ts';

const SCENARIOS: Scenario[] = [
  killResume,
  staleWorker,
  natsRestart,
  postgresRestart,
  // The session takeovers before the push outage: in one trimmed run, whatsapp-takeover waited
  // 60 s for its sessions to open right after the outage scenario (it passes alone, and after it).
  whatsappTakeover,
  whatsappHolderSigterm,
  whatsappPushOutage,
  discordFaults,
  slackFaults,
  mediaUnwritable,
  mediaDiskFull,
  concurrentSync,
  apiFuzz,
  mediaTraversal,
];

const config = loadFaultsConfig();
const selected = SCENARIOS.filter((s) => config.only.length === 0 || config.only.includes(s.name));
if (selected.length === 0) {
  console.error(
    `no scenario named ${config.only.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
console.log(`fault suite: scale=${config.scale} seed=${config.seed} (replay with --seed ${config.seed})`);

let current: Cleanup | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    console.log(`\n${signal}: cleaning up`);
    await current?.run();
    process.exit(130);
  });
}

const nameSalt = (name: string) =>
  [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261);
const root = new SeededPrng(config.seed);
let passed = 0;
let failed = 0;
const suiteStart = performance.now();
for (const scenario of selected) {
  const cleanup = new Cleanup();
  current = cleanup;
  const started = performance.now();
  const limit = scenario.timeoutMs(config);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let outcome: { ok: true; summary: string } | { ok: false; error: string };
  try {
    const summary = await Promise.race([
      scenario.run({
        config,
        cleanup,
        prng: root.fork(nameSalt(scenario.name)),
        log: (line) => console.log(`  ${scenario.name}: ${line}`),
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario timed out after ${limit} ms`)), limit);
      }),
    ]);
    outcome = { ok: true, summary };
  } catch (error) {
    outcome = { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
  const leftovers = await cleanup.run();
  current = null;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (outcome.ok && leftovers.length === 0) {
    passed++;
    console.log(`${scenario.name}: ok (${outcome.summary}; ${seconds} s)`);
  } else {
    failed++;
    const details = [outcome.ok ? outcome.summary : outcome.error, ...leftovers.map((l) => `cleanup: ${l}`)];
    console.log(`${scenario.name}: FAILED (${details.join('; ')}; ${seconds} s)`);
  }
}
const total = ((performance.now() - suiteStart) / 1000).toFixed(1);
console.log(`${passed} passed, ${failed} failed (scale=${config.scale}, seed=${config.seed}, ${total} s)`);
process.exit(failed > 0 ? 1 : 0);
