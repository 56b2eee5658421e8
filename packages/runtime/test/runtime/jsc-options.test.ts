import { describe, expect, test } from 'bun:test';
import {
  type LaunchedProcess,
  missingJscEnv,
  PRODUCTION_JSC_ENV,
  relaunchWithProductionJsc,
  withProductionJsc,
} from '../../src/runtime/jsc-options.ts';

/** A process as `relaunchWithProductionJsc` sees it, recording what it would execute. */
function processWith(env: Record<string, string | undefined>, execve = true) {
  const calls: Array<{ file: string; args: string[]; env: Record<string, string | undefined> }> = [];
  const proc: LaunchedProcess = {
    env,
    execPath: '/usr/bin/bun',
    execArgv: ['--smol'],
    argv: ['/usr/bin/bun', '/app/apps/sync-worker/src/main.ts', '--flag'],
    ...(execve ? { execve: (file, args, next) => void calls.push({ file, args, env: next }) } : {}),
  };
  return { proc, calls };
}

describe('production JSC options', () => {
  test('FTL is off unless the environment says otherwise', () => {
    expect(PRODUCTION_JSC_ENV).toEqual({ BUN_JSC_useFTLJIT: 'false' });
    expect(missingJscEnv({ PATH: '/bin' })).toEqual({ BUN_JSC_useFTLJIT: 'false' });
    expect(missingJscEnv({ BUN_JSC_useFTLJIT: 'true' })).toBeNull();
    expect(missingJscEnv({ BUN_JSC_useFTLJIT: '' })).toBeNull();
  });

  test('a launcher adds what is missing and keeps what is set', () => {
    expect(withProductionJsc({ A: '1' })).toEqual({ A: '1', BUN_JSC_useFTLJIT: 'false' });
    expect(withProductionJsc({ BUN_JSC_useFTLJIT: 'true' })).toEqual({ BUN_JSC_useFTLJIT: 'true' });
  });

  test('re-executes the same command line, runtime flags included, with the options added', () => {
    const { proc, calls } = processWith({ PATH: '/bin', DATABASE_URL: 'postgres://db' });
    relaunchWithProductionJsc(proc);
    expect(calls).toEqual([
      {
        file: '/usr/bin/bun',
        args: ['/usr/bin/bun', '--smol', '/app/apps/sync-worker/src/main.ts', '--flag'],
        env: { PATH: '/bin', DATABASE_URL: 'postgres://db', BUN_JSC_useFTLJIT: 'false' },
      },
    ]);
  });

  test('runs on as it is when every option is set, or where execve is missing', () => {
    const set = processWith({ BUN_JSC_useFTLJIT: 'false' });
    relaunchWithProductionJsc(set.proc);
    expect(set.calls).toEqual([]);
    const without = processWith({}, false);
    expect(() => relaunchWithProductionJsc(without.proc)).not.toThrow();
  });
});
