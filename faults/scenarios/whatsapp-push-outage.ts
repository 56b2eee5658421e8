import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServices, type Services } from '../../packages/runtime/src/index.ts';
import { instanceId } from '../../packages/sync-core/src/index.ts';
import {
  createFakeSocketFactory,
  type FakeWhatsAppScenario,
  generateTextHistory,
} from '../../packages/testkit/src/whatsapp/index.ts';
import { PrivatePostgres } from '../lib/private-postgres.ts';
import type { Scenario } from '../lib/scenario.ts';
import { check, sleep, waitFor } from '../lib/wait.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * WhatsApp pushes an account's history once, after linking. Here it pushes it while Postgres is
 * down (a private cluster crashed with `pg_ctl stop -m immediate`), through the production wiring
 * (`openServices` → `startWhatsApp` → the durable history handler), in two variants:
 *  1. Postgres comes back after an outage longer than the old retry timer (5 s; pushes were dropped after ~3.5 s): the process keeps the
 *     pushed batches and stores them once it can;
 *  2. the process is stopped while Postgres is still down (the batches go to its spool folder), then
 *     Postgres and a new process start: the new process replays them.
 * Each time the stored set must equal everything the phone pushed (a clean run's set), and the
 * inbox must be empty.
 */
export const whatsappPushOutage: Scenario = {
  name: 'whatsapp-push-outage',
  timeoutMs: () => 180_000,
  async run({ cleanup, log }) {
    const pg = await PrivatePostgres.start(cleanup);
    const dataDir = mkdtempSync(join(tmpdir(), 'omni-faults-wa-'));
    cleanup.add(`rm ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
    const now = Math.floor(Date.now() / 1000) - 60;
    const chats = Array.from({ length: 6 }, (_, c) => {
      const jid = `1555000${String(c).padStart(4, '0')}@s.whatsapp.net`;
      return {
        jid,
        name: `Chat ${c}`,
        messages: generateTextHistory({
          chat: jid,
          count: 150,
          newest: now,
          spacing: 300,
          idPrefix: `P${c}`,
        }),
      };
    });
    const expected = chats.reduce((n, c) => n + c.messages.length, 0);
    const phone: FakeWhatsAppScenario = {
      me: { id: '15559990000@s.whatsapp.net', name: 'Me' },
      chats,
      pushOnOpen: false,
      chunkSize: 100,
    };

    const open = async (): Promise<{
      services: Services;
      fake: ReturnType<typeof createFakeSocketFactory>;
    }> => {
      const fake = createFakeSocketFactory(phone);
      const services = await openServices({
        databaseUrl: pg.url,
        natsUrl: undefined,
        dataDir,
        name: 'faults-wa',
        plugins: [],
        log: quiet,
        whatsapp: { socketFactory: fake.factory },
      });
      let closed = false;
      const close = services.close;
      services.close = async () => {
        if (closed) return;
        closed = true;
        await close();
      };
      cleanup.add('close WhatsApp services', () => services.close());
      return { services, fake };
    };
    const stored = async (services: Services, id: string) =>
      Number(
        (
          await services.db.db
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('instance_id', '=', id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const inbox = async (services: Services) =>
      Number(
        (
          await services.db.db
            .selectFrom('history_inbox')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const newInstance = async (services: Services, name: string) =>
      instanceId(
        (
          await services.db.db
            .insertInto('instances')
            .values({ name, channel: 'whatsapp-baileys' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      );

    // 1. An outage longer than any retry timer, the process stays up.
    const first = await open();
    const a = await newInstance(first.services, 'wa-outage');
    await first.services.whatsapp?.connect(a);
    await pg.stop('immediate');
    first.fake.last?.pushHistory();
    await sleep(5_000);
    await pg.launch();
    await first.services.whatsapp?.flush(a);
    const storedA = await stored(first.services, a);
    log(`outage of 5 s during the push: ${storedA}/${expected} stored, inbox ${await inbox(first.services)}`);
    check(storedA === expected, `after a 5 s outage ${storedA} of ${expected} pushed messages were stored`);

    // 2. The process stops while Postgres is down; a new one replays the spool.
    const b = await newInstance(first.services, 'wa-outage-restart');
    await first.services.whatsapp?.connect(b);
    await pg.stop('immediate');
    first.fake.last?.pushHistory();
    await sleep(1_000);
    await first.services.close();
    const spooled = readdirSync(join(dataDir, 'whatsapp-inbox')).filter((n) => n.endsWith('.json')).length;
    await pg.launch();
    const second = await open();
    const storedB = await waitFor(
      'the replayed push to be stored',
      async () => {
        const n = await stored(second.services, b);
        return n === expected ? n : null;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    ).catch(async () => stored(second.services, b));
    const left = await inbox(second.services);
    log(
      `process stopped during the outage: ${spooled} batches spooled, ${storedB}/${expected} stored after restart, inbox ${left}`,
    );
    check(
      storedB === expected && left === 0,
      `after a restart ${storedB} of ${expected} pushed messages were stored (inbox ${left})`,
    );
    await second.services.close();
    return `5 s outage: ${storedA}/${expected}; stop during outage: ${spooled} spooled, ${storedB}/${expected} after restart`;
  },
};
