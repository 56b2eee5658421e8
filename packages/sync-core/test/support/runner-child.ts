/**
 * Child process for the crash test: runs a claimed job over the in-memory plugin, prints
 * `batch <n>` after every committed batch, and blocks forever once `hangAfter` pages were served,
 * so the parent can SIGKILL it mid-run.
 */
import { createDb } from '@omni/db';
import { fixedRateSource, PluginRegistry, RateLimiter, SyncRunner } from '../../src/index.ts';
import { dataset, TestPlugin } from './test-plugin.ts';

const [url, jobId, endMs, hangAfter] = process.argv.slice(2) as [string, string, string, string];
const { db } = await createDb({ databaseUrl: url, migrate: false });
const plugin = new TestPlugin({
  chats: dataset(3, 25, Number(endMs)),
  pageSize: 10,
  beforePage: async (_chat, _page, served) => {
    if (served >= Number(hangAfter)) await new Promise(() => {});
  },
});
const runner = new SyncRunner({
  db,
  plugins: new PluginRegistry([plugin]),
  limiter: new RateLimiter({ rates: fixedRateSource({}) }),
  chatConcurrency: 2,
  onBatchCommitted: (b) => console.log(`batch ${b.batch}`),
});
console.log('started');
await runner.runJob(jobId, 'child-worker');
console.log('finished');
