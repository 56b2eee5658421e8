/**
 * A sync-worker process with the testkit's fake WhatsApp socket in place of Baileys: the same
 * wiring as `apps/sync-worker/src/main.ts` (`loadWorkerConfig` → `openServices` →
 * `createWorkerRuntime`, SIGTERM checkpoints and exits), only `whatsapp.socketFactory` differs.
 * The phone it plays comes from `FAULTS_WA_PHONE` (a {@link WhatsAppPhone}, JSON), so every worker
 * of a scenario serves the same account; `FAULTS_WA_LEASE_MS` / `FAULTS_WA_RENEW_MS` set the
 * session lease timings (a killed holder's sessions are taken over after the lease).
 */
import {
  createWorkerRuntime,
  loadChannelPlugins,
  loadWorkerConfig,
  openServices,
} from '../../packages/runtime/src/index.ts';
import { createFakeSocketFactory } from '../../packages/testkit/src/whatsapp/index.ts';
import { phoneScenario, type WhatsAppPhone } from './whatsapp-phone.ts';

const config = loadWorkerConfig();
// Warnings and errors to stderr (the scenario keeps it in the world's folder).
const errors = (_key: string, value: unknown) =>
  value instanceof Error ? { name: value.name, message: value.message } : value;
const write =
  (level: string) =>
  (obj: object | string, msg?: string): void =>
    console.error(JSON.stringify({ level, time: new Date().toISOString(), msg, obj }, errors));
const log = { debug() {}, info() {}, warn: write('warn'), error: write('error') };
const phone = JSON.parse(process.env.FAULTS_WA_PHONE ?? '') as WhatsAppPhone;
const fake = createFakeSocketFactory(phoneScenario(phone));
const services = await openServices({
  databaseUrl: config.databaseUrl,
  natsUrl: config.natsUrl,
  dataDir: config.dataDir,
  name: 'omni-faults-wa-worker',
  plugins: loadChannelPlugins(),
  log,
  nats: config.nats,
  leaderLeaseMs: config.leaderLeaseMs,
  whatsapp: {
    socketFactory: fake.factory,
    ...(config.workerId ? { owner: config.workerId } : {}),
    leaseMs: Number(process.env.FAULTS_WA_LEASE_MS ?? 1500),
    renewMs: Number(process.env.FAULTS_WA_RENEW_MS ?? 250),
  },
});
const runtime = createWorkerRuntime(services, config, log);
await runtime.start();

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await runtime.stop().catch((err) => log.error({ err }, 'worker stop failed'));
  await services.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
