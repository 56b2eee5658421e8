import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '@omni/db';

/** Where {@link loadApiKey} found the key. */
export type ApiKeySource = 'env' | 'file' | 'generated';

/**
 * The API key: `API_KEY` when set, else `{dataDir}/api-key`, generated once (mode 0600) when
 * absent — the embedded default needs no configuration.
 */
export function loadApiKey(options: { apiKey?: string | undefined; dataDir: string }): {
  apiKey: string;
  source: ApiKeySource;
  file: string | null;
} {
  if (options.apiKey) return { apiKey: options.apiKey, source: 'env', file: null };
  const file = join(options.dataDir, 'api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key) return { apiKey: key, source: 'file', file };
  }
  ensurePrivateDir(options.dataDir);
  const key = `omni_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { apiKey: key, source: 'generated', file };
}
