import { chmodSync, mkdirSync } from 'node:fs';

/** Mode of every folder the service creates for its data: owner only. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file the service writes (keys, media): owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `path` (and missing parents) as 0700, and makes an existing `path` 0700 too: the data
 * folder holds the database, the keys and the media, none of it for other local users.
 */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}
