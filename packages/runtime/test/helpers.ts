import { setDefaultTimeout } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Database } from '@omni/db';
import type { Kysely } from 'kysely';

/** Database- and process-backed tests get room on a loaded machine; none waits on a clock. */
setDefaultTimeout(60_000);

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** Unique names for one test's stream, subjects and consumer. */
export function natsNames() {
  const tag = randomBytes(4).toString('hex');
  return {
    stream: `T_JOBS_${tag}`,
    subjectPrefix: `t.${tag}.jobs`,
    durable: `t_${tag}`,
    eventPrefix: `t.${tag}.sync`,
  };
}

export async function natsConnect(): Promise<NatsConnection> {
  return connect({ servers: NATS_URL, name: 'omni-sync-test' });
}

/** Polls `check` until it returns a truthy value (no timed assertion: the test timeout bounds it). */
export async function until<T>(check: () => Promise<T> | T, everyMs = 20): Promise<NonNullable<T>> {
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Inserts a connected discord instance and returns its id. */
export async function insertInstance(db: Kysely<Database>, name = `i-${randomBytes(3).toString('hex')}`) {
  const row = await db
    .insertInto('instances')
    .values({ name, channel: 'discord', credentials: 'x', connection_state: 'open' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
