import { expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApiKey } from '../src/api-key.ts';

test('a generated API key lives in a 0600 file inside a 0700 data folder, and is only generated once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omni-apikey-'));
  try {
    const data = join(dir, 'data');
    const first = loadApiKey({ dataDir: data });
    expect(first.source).toBe('generated');
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, 'api-key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(data, 'api-key'), 'utf8').trim()).toBe(first.apiKey);
    const second = loadApiKey({ dataDir: data });
    expect(second).toMatchObject({ source: 'file', apiKey: first.apiKey });
    expect(loadApiKey({ apiKey: 'from-env', dataDir: data })).toMatchObject({ source: 'env', file: null });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
