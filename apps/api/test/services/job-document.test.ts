import { describe, expect, test } from 'bun:test';
import type { SyncJob } from '@omni/db';
import { emptyProgress } from '@omni/sync-core';
import Fastify from 'fastify';
import { Data } from '../../src/schemas/common.ts';
import { SyncJobDetail } from '../../src/schemas/sync-job.ts';
import { isPlainJobDetail, type JobDetail, jobDocumentJson } from '../../src/services/job-document.ts';
import { toJobDetail } from '../../src/services/mappers.ts';

/** A running job as the repository reads it, with a runner's progress. */
const job = (progress: Record<string, unknown> = {}, patch: Partial<SyncJob> = {}): SyncJob =>
  ({
    id: '6f1c1b8e-2f7a-4c1e-9a59-1f2d3c4b5a69',
    instance_id: '6f1c1b8e-2f7a-4c1e-9a59-1f2d3c4b5a60',
    type: 'messages',
    status: 'running',
    config: { depth: '30d', downloadMedia: true, chatIds: ['a', 'b'] },
    progress: {
      ...emptyProgress(),
      fetched: 48_213,
      chatsTotal: 20,
      chatsDone: 7,
      etaSeconds: 60,
      estimatedTotal: 90_000,
      warnings: ['members intent refused: "quoted" \u2028 ünïcode'],
      parts: { messages: 'running' },
      exhaustedChats: [{ chatId: '1', name: null, oldestTimestamp: null }],
      ...progress,
    },
    error_message: null,
    attempts: 1,
    cancel_requested: false,
    created_at: new Date('2026-12-06T10:00:00.000Z'),
    started_at: new Date('2026-12-06T10:00:01.000Z'),
    completed_at: null,
    ...patch,
  }) as SyncJob;

/** What the route's schema serialiser (fast-json-stringify through Fastify) writes for the document. */
async function schemaJson(detail: JobDetail): Promise<string> {
  const app = Fastify();
  app.get('/', { schema: { response: { 200: Data(SyncJobDetail) } } }, async () => ({ data: detail }));
  const res = await app.inject({ url: '/' });
  await app.close();
  return res.body;
}

describe('job document JSON', () => {
  test("a runner's job is written by JSON.stringify, as the same JSON value the schema serialiser writes", async () => {
    for (const row of [
      job(),
      job({ etaSeconds: null }, { status: 'completed', completed_at: new Date() }),
      job({}, { status: 'failed', error_message: 'boom', attempts: 3 }),
      job({ unestimatedChats: 2 }, { status: 'pending', started_at: null }),
    ]) {
      const detail = toJobDetail(row);
      expect(isPlainJobDetail(detail)).toBe(true);
      let schemaCalls = 0;
      const json = jobDocumentJson(detail, () => {
        schemaCalls++;
        return '';
      });
      expect(schemaCalls).toBe(0);
      expect(JSON.parse(json)).toEqual(JSON.parse(await schemaJson(detail)));
    }
  });

  test('anything the schema serialiser would coerce or refuse goes through it', async () => {
    const odd: JobDetail[] = [
      toJobDetail(job({ etaSeconds: 12.5 })),
      toJobDetail(job({ etaSeconds: '60' })),
      toJobDetail(job({ estimatedTotal: -1 })),
      toJobDetail(job({ unestimatedChats: null })),
      toJobDetail(job({}, { attempts: 1.5 })),
      toJobDetail(job({}, { status: 'weird' as SyncJob['status'] })),
      toJobDetail(job({}, { type: 'weird' as SyncJob['type'] })),
      toJobDetail(job({}, { config: ['not', 'an', 'object'] as unknown as SyncJob['config'] })),
      { ...toJobDetail(job()), progress: [] as unknown as JobDetail['progress'] },
      { ...toJobDetail(job()), progressPercent: 101 },
      { ...toJobDetail(job()), cancelRequested: 'no' as unknown as boolean },
      { ...toJobDetail(job()), startedAt: 5 as unknown as string },
    ];
    for (const detail of odd) {
      expect(isPlainJobDetail(detail)).toBe(false);
      expect(jobDocumentJson(detail, () => 'schema')).toBe('schema');
    }
  });
});
