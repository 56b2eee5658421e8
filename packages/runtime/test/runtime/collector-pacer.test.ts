import { describe, expect, test } from 'bun:test';
import { CollectorPacer } from '../../src/runtime/collector-pacer.ts';
import { loadWorkerConfig } from '../../src/runtime/worker-config.ts';

describe('CollectorPacer', () => {
  test('collects at most once per interval, however many batches commit', () => {
    let now = 0;
    let runs = 0;
    const pacer = new CollectorPacer({ intervalMs: 1_000, now: () => now, collect: () => runs++ });
    for (let t = 0; t <= 10_000; t += 10) {
      now = t;
      pacer.tick();
    }
    expect(runs).toBe(10);
    expect(pacer.collections).toBe(10);
  });

  test('no batches, no collections; interval 0 never collects', () => {
    let now = 0;
    let runs = 0;
    const idle = new CollectorPacer({ intervalMs: 1_000, now: () => now, collect: () => runs++ });
    now = 60_000;
    expect(runs).toBe(0);
    idle.tick();
    expect(runs).toBe(1);
    const off = new CollectorPacer({ intervalMs: 0, now: () => now, collect: () => runs++ });
    for (let i = 0; i < 100; i++) {
      now += 5_000;
      off.tick();
    }
    expect(runs).toBe(1);
  });

  test('the worker reads its pace from WORKER_GC_INTERVAL_MS', () => {
    expect(loadWorkerConfig({}).gcIntervalMs).toBe(1_000);
    expect(loadWorkerConfig({ WORKER_GC_INTERVAL_MS: '0' }).gcIntervalMs).toBe(0);
    expect(() => loadWorkerConfig({ WORKER_GC_INTERVAL_MS: '-5' })).toThrow(/WORKER_GC_INTERVAL_MS/);
  });
});
